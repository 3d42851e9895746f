package soak

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/aksoidc/aksoidc/test/kubelettest"
	"github.com/aksoidc/aksoidc/test/poll"
	"github.com/aksoidc/aksoidc/test/syncbuf"
)

// TestKubectlStreams runs the pinned kubectl through the built proxy to the real
// kube-apiserver, which reaches the pod's loopback kubelet (test/kubelettest): logs -f, exec
// and port-forward as a user allowed them, and exec refused to a user who may only read the
// pod (the proxy impersonates, so RBAC judges the person).
func TestKubectlStreams(t *testing.T) {
	e := newEnv(t)
	p := startProxy(t, e.cluster.ProxyKubeconfig, e.iss)
	k := &kubectl{path: e.cluster.KubectlPath, home: t.TempDir()}
	dev := p.kubeconfig(t, e.token(t, "alice", time.Hour))
	viewer := p.kubeconfig(t, e.tokenIn(t, "bob", "viewers", time.Hour))
	t.Run("logs -f", func(t *testing.T) { testKubectlFollow(t, k, dev, e.kubelet) })
	t.Run("exec", func(t *testing.T) { testKubectlExec(t, k, dev, viewer) })
	t.Run("port-forward", func(t *testing.T) { testKubectlPortForward(t, k, dev) })
}

// testKubectlFollow wants kubectl logs -f to show the line there was, then a line written
// after it started, and to be still following when stopped.
func testKubectlFollow(t *testing.T, k *kubectl, kubeconfig string, kubelet *kubelettest.Kubelet) {
	kubelet.Log(namespace, pod, kubelettest.Container, "before kubectl")
	stdout, stderr, stop := k.start(t, kubeconfig, "logs", "-f", pod)
	poll.Until(t, 30*time.Second, func() bool { return stdout.String() != "" })
	kubelet.Log(namespace, pod, kubelettest.Container, "after kubectl started")
	want := "before kubectl\nafter kubectl started\n"
	poll.Until(t, 30*time.Second, func() bool { return len(stdout.String()) >= len(want) })
	if stop() {
		t.Errorf("kubectl logs -f ended by itself, want it following until stopped")
	}
	if diff := cmp.Diff([]string{want, ""}, []string{stdout.String(), stderr.String()}); diff != "" {
		t.Errorf("kubectl logs -f's stdout, stderr (-want +got):\n%s", diff)
	}
}

func testKubectlExec(t *testing.T, k *kubectl, dev, viewer string) {
	tests := []struct {
		name, kubeconfig string
		args             []string
		stdin            string
		stdout, stderr   string
		exit             int
	}{
		{"stdin to stdout", dev, []string{"exec", "-i", pod, "--", "cat"}, "hello\nthrough the proxy\n", "hello\nthrough the proxy\n", "", 0},
		{"exit code", dev, []string{"exec", pod, "--", "exit", "3"}, "", "", "command terminated with exit code 3\n", 3},
		{"a viewer may read the logs", viewer, []string{"logs", pod}, "", "before kubectl\nafter kubectl started\n", "", 0},
		// kubectl says so about kube-apiserver's 403 to its SPDY fallback, the same without the proxy.
		{"a viewer may not exec", viewer, []string{"exec", "-i", pod, "--", "cat"}, "secret\n", "",
			`error: unable to upgrade connection: pods "streams" is forbidden: User "oidc:bob" cannot create resource "pods/exec" in API group "" in the namespace "soak"` + "\n", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := k.run(t, tt.kubeconfig, tt.stdin, tt.args...)
			if diff := cmp.Diff([]any{tt.stdout, tt.stderr, tt.exit}, []any{stdout, stderr, code}); diff != "" {
				t.Errorf("kubectl %s: stdout, stderr, exit code (-want +got):\n%s", strings.Join(tt.args, " "), diff)
			}
		})
	}
}

// forwarding is kubectl port-forward's line naming the local address.
var forwarding = regexp.MustCompile(`Forwarding from (127\.0\.0\.1:\d+) -> 80\n`)

// testKubectlPortForward sends lines both ways through kubectl port-forward to the pod's echo
// server, one of them far larger than a frame.
func testKubectlPortForward(t *testing.T, k *kubectl, kubeconfig string) {
	stdout, stderr, stop := k.start(t, kubeconfig, "port-forward", "--address=127.0.0.1", "pod/"+pod, ":80")
	var addr string
	poll.Until(t, 30*time.Second, func() bool {
		m := forwarding.FindStringSubmatch(stdout.String())
		if m != nil {
			addr = m[1]
		}
		return m != nil
	})
	conn, err := (&net.Dialer{}).DialContext(t.Context(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	r := bufio.NewReader(conn)
	for _, line := range []string{"ping\n", strings.Repeat("large ", 50_000) + "\n", "last\n"} {
		if _, err := io.WriteString(conn, line); err != nil {
			t.Fatalf("write through kubectl port-forward: %v", err)
		}
		got, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("read through kubectl port-forward: %v; kubectl said %s", err, stderr.String())
		}
		if got != line {
			t.Errorf("got %d bytes %.20q, want %d bytes %.20q", len(got), got, len(line), line)
		}
	}
	if stop() {
		t.Errorf("kubectl port-forward ended by itself")
	}
	if stderr.String() != "" {
		t.Errorf("kubectl port-forward's stderr: %s", stderr.String())
	}
}

// kubectl is the pinned kubectl with a home of its own (no user's kuberc or cache).
type kubectl struct{ path, home string }

func (k *kubectl) command(ctx context.Context, kubeconfig string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, k.path, append([]string{"--kubeconfig=" + kubeconfig}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+k.home, "KUBERC=off")
	return cmd
}

// run runs kubectl to the end and returns its output and exit code.
func (k *kubectl) run(t *testing.T, kubeconfig, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := k.command(ctx, kubeconfig, args...)
	var out, errOut strings.Builder
	cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(stdin), &out, &errOut
	err := cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		code = exitErr.ExitCode()
	case err != nil:
		t.Fatalf("kubectl %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errOut.String(), code
}

// start starts a kubectl that runs until stop, which kills it; stop says whether kubectl had
// ended by itself before.
func (k *kubectl) start(t *testing.T, kubeconfig string, args ...string) (stdout, stderr *syncbuf.Buffer, stop func() (ended bool)) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	cmd := k.command(ctx, kubeconfig, args...)
	stdout, stderr = &syncbuf.Buffer{}, &syncbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("kubectl %s: %v", strings.Join(args, " "), err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	stop = sync.OnceValue(func() bool {
		select {
		case <-done:
			cancel()
			return true
		default:
		}
		cancel()
		<-done
		return false
	})
	t.Cleanup(func() { stop() })
	return stdout, stderr, stop
}

// kubeconfig is a kubeconfig file for the proxy with token, namespace soak.
func (p *proxyProc) kubeconfig(t testing.TB, token string) string {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["proxy"] = &clientcmdapi.Cluster{Server: p.URL, CertificateAuthorityData: p.CA.PEM}
	cfg.AuthInfos["user"] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["proxy"] = &clientcmdapi.Context{Cluster: "proxy", AuthInfo: "user", Namespace: namespace}
	cfg.CurrentContext = "proxy"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}
