package kubelettest_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/transport/spdy"
	"k8s.io/client-go/util/exec"
	"k8s.io/utils/ptr"

	"github.com/aksoidc/aksoidc/test/kubelettest"
	"github.com/aksoidc/aksoidc/test/kubetest"
)

const ns = "default"

// cluster is kube-apiserver verifying a loopback kubelet with pod "pod" in namespace default.
func cluster(t *testing.T) (*kubetest.Cluster, *kubelettest.Kubelet) {
	t.Helper()
	k := kubelettest.Start(t, kubelettest.Options{Ports: map[int32]string{80: kubelettest.Echo(t)}})
	c := kubetest.StartWith(t, kubetest.Options{APIServerFlags: k.APIServerFlags()})
	k.Register(t, c.AdminClient)
	k.AddPod(t, c.AdminClient, ns, "pod")
	return c, k
}

// TestThroughKubeAPIServer asks the real kube-apiserver for the pod's logs, an exec and a
// port-forward, which it serves by connecting to the kubelet on 127.0.0.1.
func TestThroughKubeAPIServer(t *testing.T) {
	c, k := cluster(t)
	t.Run("logs", func(t *testing.T) { testLogs(t, c, k) })
	t.Run("follow", func(t *testing.T) { testFollow(t, c, k) })
	t.Run("exec", func(t *testing.T) { testExec(t, c) })
	t.Run("port-forward", func(t *testing.T) { testPortForward(t, c) })
	t.Run("untrusted kubelet", func(t *testing.T) { testUntrusted(t, c) })
}

// testUntrusted registers a second kubelet whose certificate another CA signed: kube-apiserver
// refuses to talk to it, so the tests above did not pass by skipping verification.
func testUntrusted(t *testing.T, c *kubetest.Cluster) {
	other := kubelettest.Start(t, kubelettest.Options{})
	other.Register(t, c.AdminClient)
	other.AddPod(t, c.AdminClient, ns, "untrusted")
	body, err := c.AdminClient.CoreV1().Pods(ns).GetLogs("untrusted", &corev1.PodLogOptions{}).DoRaw(t.Context())
	want := "tls: failed to verify certificate: x509: certificate signed by unknown authority"
	if err == nil || !strings.Contains(string(body), want) {
		t.Errorf("logs from a kubelet of another CA: got %v %q, want a Status containing %q", err, body, want)
	}
}

func testLogs(t *testing.T, c *kubetest.Cluster, k *kubelettest.Kubelet) {
	for _, line := range []string{"one", "two", "three"} {
		k.Log(ns, "pod", kubelettest.Container, line)
	}
	tests := []struct {
		name string
		opts corev1.PodLogOptions
		want string
	}{
		{"all", corev1.PodLogOptions{}, "one\ntwo\nthree\n"},
		{"tail", corev1.PodLogOptions{TailLines: ptr.To[int64](2)}, "two\nthree\n"},
		{"tail 0", corev1.PodLogOptions{TailLines: ptr.To[int64](0)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.AdminClient.CoreV1().Pods(ns).GetLogs("pod", &tt.opts).DoRaw(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("logs (-want +got):\n%s", diff)
			}
		})
	}
}

func testFollow(t *testing.T, c *kubetest.Cluster, k *kubelettest.Kubelet) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	stream, err := c.AdminClient.CoreV1().Pods(ns).GetLogs("pod", &corev1.PodLogOptions{Follow: true, TailLines: ptr.To[int64](0)}).Stream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stream.Close() }()
	k.Log(ns, "pod", kubelettest.Container, "after the stream started")
	line, err := bufio.NewReader(stream).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("after the stream started\n", line); diff != "" {
		t.Errorf("followed line (-want +got):\n%s", diff)
	}
}

func testExec(t *testing.T, c *kubetest.Cluster) {
	tests := []struct {
		name           string
		command        []string
		stdin          string
		stdout, stderr string
		exit           int
	}{
		{"cat", []string{"cat"}, "hello\nkubelet\n", "hello\nkubelet\n", "", 0},
		{"tee", []string{"tee", "/dev/stderr"}, "both\n", "both\n", "both\n", 0},
		{"head", []string{"head", "-n", "1"}, "one\ntwo\n", "one\n", "", 0},
		{"echo", []string{"echo", "a", "b"}, "", "a b\n", "", 0},
		{"exit", []string{"exit", "3"}, "", "", "", 3},
		{"unknown", []string{"vi"}, "", "", "sh: vi: not found\n", 127},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := &corev1.PodExecOptions{Container: kubelettest.Container, Command: tt.command, Stdin: tt.stdin != "", Stdout: true, Stderr: true}
			req := c.AdminClient.CoreV1().RESTClient().Post().Resource("pods").Namespace(ns).Name("pod").SubResource("exec").
				VersionedParams(opts, scheme.ParameterCodec)
			e, err := remotecommand.NewSPDYExecutor(c.Admin, http.MethodPost, req.URL())
			if err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			streams := remotecommand.StreamOptions{Stdout: &stdout, Stderr: &stderr}
			if tt.stdin != "" {
				streams.Stdin = strings.NewReader(tt.stdin)
			}
			err = e.StreamWithContext(t.Context(), streams)
			code := 0
			var exitErr exec.CodeExitError
			if errors.As(err, &exitErr) {
				code = exitErr.Code
			} else if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]any{tt.stdout, tt.stderr, tt.exit}, []any{stdout.String(), stderr.String(), code}); diff != "" {
				t.Errorf("stdout, stderr, exit code (-want +got):\n%s", diff)
			}
		})
	}
}

func testPortForward(t *testing.T, c *kubetest.Cluster) {
	req := c.AdminClient.CoreV1().RESTClient().Post().Resource("pods").Namespace(ns).Name("pod").SubResource("portforward")
	rt, upgrader, err := spdy.RoundTripperFor(c.Admin)
	if err != nil {
		t.Fatal(err)
	}
	dialer := spdy.NewDialerForStreaming(upgrader, &http.Client{Transport: rt}, http.MethodPost, req.URL())
	conn := kubelettest.ForwardPort(t, dialer)
	r := bufio.NewReader(conn)
	for _, line := range []string{"ping\n", strings.Repeat("x", 100_000) + "\n"} {
		if _, err := io.WriteString(conn, line); err != nil {
			t.Fatal(err)
		}
		got, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("read through the port-forward: %v", err)
		}
		if got != line {
			t.Errorf("got %d bytes %.20q, want %d bytes %.20q", len(got), got, len(line), line)
		}
	}
}
