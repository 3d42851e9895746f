package soak

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	t.Run("exec", func(t *testing.T) { testKubectlExec(t, p, k, dev, viewer) })
	t.Run("port-forward", func(t *testing.T) { testKubectlPortForward(t, p, k, dev) })
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

func testKubectlExec(t *testing.T, p *proxyProc, k *kubectl, dev, viewer string) {
	const podPath = "/api/v1/namespaces/" + namespace + "/pods/" + pod
	tests := []struct {
		name, kubeconfig string
		args             []string
		stdin            string
		stdout, stderr   string
		exit             int
		// requests are what the proxy's access log says of the requests for path: the
		// WebSocket upgrade is a GET, SPDY a POST.
		path     string
		requests []string
	}{
		{"stdin to stdout", dev, []string{"exec", "-i", pod, "--", "cat"}, "hello\nthrough the proxy\n", "hello\nthrough the proxy\n", "", 0,
			podPath + "/exec", []string{"GET 101"}},
		{"exit code", dev, []string{"exec", pod, "--", "exit", "3"}, "", "", "command terminated with exit code 3\n", 3,
			podPath + "/exec", []string{"GET 101"}},
		// The lines the logs -f test wrote.
		{"a viewer may read the logs", viewer, []string{"logs", pod}, "", "before kubectl\nafter kubectl started\n", "", 0,
			podPath + "/log", []string{"GET 200"}},
		// kubectl says so about kube-apiserver's 403 to its SPDY fallback, the same without the proxy.
		{"a viewer may not exec", viewer, []string{"exec", "-i", pod, "--", "cat"}, "secret\n", "",
			`error: unable to upgrade connection: pods "streams" is forbidden: User "oidc:bob" cannot create resource "pods/exec" in API group "" in the namespace "soak"` + "\n", 1,
			podPath + "/exec", []string{"GET 403", "POST 403"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(p.requests(t, tt.path))
			stdout, stderr, code := k.run(t, tt.kubeconfig, tt.stdin, tt.args...)
			if diff := cmp.Diff([]any{tt.stdout, tt.stderr, tt.exit}, []any{stdout, stderr, code}); diff != "" {
				t.Errorf("kubectl %s: stdout, stderr, exit code (-want +got):\n%s", strings.Join(tt.args, " "), diff)
			}
			// A hijacked connection is logged when it closes, which may be just after kubectl exits.
			poll.Until(t, 10*time.Second, func() bool { return len(p.requests(t, tt.path)) >= before+len(tt.requests) })
			if diff := cmp.Diff(tt.requests, p.requests(t, tt.path)[before:]); diff != "" {
				t.Errorf("the proxy's access log for %s (-want +got):\n%s", tt.path, diff)
			}
		})
	}
}

// requests are the "METHOD status" of the proxy's access-log lines for path, in order.
func (p *proxyProc) requests(t testing.TB, path string) []string {
	t.Helper()
	var got []string
	for line := range strings.Lines(p.Logs.String()) {
		var m struct {
			Msg, Method, Path string
			Status            int
		}
		if json.Unmarshal([]byte(line), &m) == nil && m.Msg == "request" && m.Path == path {
			got = append(got, fmt.Sprintf("%s %d", m.Method, m.Status))
		}
	}
	return got
}

// forwarding is kubectl port-forward's line naming the local address.
var forwarding = regexp.MustCompile(`Forwarding from (127\.0\.0\.1:\d+) -> 80\n`)

// testKubectlPortForward sends lines both ways through kubectl port-forward to the pod's echo
// server, one of them far larger than a frame, over the WebSocket tunnel.
func testKubectlPortForward(t *testing.T, p *proxyProc, k *kubectl, kubeconfig string) {
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
	// One WebSocket tunnel (a GET; SPDY would be a POST), logged when kubectl closed it.
	path := "/api/v1/namespaces/" + namespace + "/pods/" + pod + "/portforward"
	poll.Until(t, 10*time.Second, func() bool { return len(p.requests(t, path)) > 0 })
	if diff := cmp.Diff([]string{"GET 101"}, p.requests(t, path)); diff != "" {
		t.Errorf("the proxy's access log for %s (-want +got):\n%s", path, diff)
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
