package proxy_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/transport/spdy"
	criportforward "k8s.io/cri-streaming/pkg/streaming/portforward"
	criremotecommand "k8s.io/cri-streaming/pkg/streaming/remotecommand"
)

// upperExecutor answers one line of stdin with the same line in upper case on stdout, and
// "bye" on stderr.
type upperExecutor struct{}

func (upperExecutor) ExecInContainer(_ context.Context, _, _, _ string, _ []string, in io.Reader, out, errOut io.WriteCloser, _ bool, _ <-chan criremotecommand.TerminalSize, _ time.Duration) error {
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil {
		return err
	}
	_, _ = io.WriteString(out, strings.ToUpper(line))
	_, _ = io.WriteString(errOut, "bye\n")
	return nil
}

// dialForwarder connects a port-forward stream to a TCP address on loopback.
type dialForwarder struct{ addr string }

func (f dialForwarder) PortForward(ctx context.Context, _, _ string, _ int32, stream io.ReadWriteCloser) error {
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", f.addr)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	go func() { _, _ = io.Copy(conn, stream) }()
	_, err = io.Copy(stream, conn)
	return err
}

// streamingUpstream serves exec and port-forward as a kubelet does, with the cri-streaming
// server packages (SPDY and WebSocket).
func streamingUpstream(t *testing.T, echoAddr string) *recordingUpstream {
	return newRecordingUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/exec"):
			opts, err := criremotecommand.NewOptions(r)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			criremotecommand.ServeExec(w, r, upperExecutor{}, "pod", "uid", "c", nil, opts, time.Minute, 10*time.Second, criremotecommand.SupportedStreamingProtocols)
		case strings.HasSuffix(r.URL.Path, "/portforward"):
			opts, err := criportforward.NewV4Options(r)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			criportforward.ServePortForward(w, r, dialForwarder{echoAddr}, "pod", "uid", opts, time.Minute, 10*time.Second, criportforward.SupportedProtocols)
		default:
			http.NotFound(w, r)
		}
	})
}

// upperEchoServer answers each line with the line in upper case.
func upperEchoServer(t *testing.T) string {
	ln, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer func() { _ = conn.Close() }()
				s := bufio.NewScanner(conn)
				for s.Scan() {
					_, _ = io.WriteString(conn, strings.ToUpper(s.Text())+"\n")
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func (p *testProxy) restConfig(token string) *rest.Config {
	return &rest.Config{Host: p.URL, BearerToken: token, TLSClientConfig: rest.TLSClientConfig{CAData: p.CAPEM}}
}

func TestExecThroughTheProxy(t *testing.T) {
	up := streamingUpstream(t, "")
	p := newTestProxy(t, up, proxyOptions{requestTimeout: time.Second})
	cfg := p.restConfig(p.token(t, "alice", "devs"))
	execURL, _ := url.Parse(p.URL + "/api/v1/namespaces/team-a/pods/pod/exec?command=sh&input=1&output=1&error=1")
	websocket := func() (remotecommand.Executor, error) {
		// The kubelet's streaming server speaks WebSocket up to v4; kubectl offers v5 first.
		return remotecommand.NewWebSocketExecutorForProtocols(cfg, http.MethodGet, execURL.String(), "v5.channel.k8s.io", "v4.channel.k8s.io")
	}
	tests := []struct {
		name     string
		executor func() (remotecommand.Executor, error)
		protocol string // the upgrade the upstream saw
	}{
		{"WebSocket", websocket, "websocket"},
		{"SPDY", func() (remotecommand.Executor, error) {
			return remotecommand.NewSPDYExecutor(cfg, http.MethodPost, execURL)
		}, "SPDY/3.1"},
		{"WebSocket with SPDY fallback", func() (remotecommand.Executor, error) {
			ws, err := websocket()
			if err != nil {
				return nil, err
			}
			s, err := remotecommand.NewSPDYExecutor(cfg, http.MethodPost, execURL)
			if err != nil {
				return nil, err
			}
			return remotecommand.NewFallbackExecutor(ws, s, func(error) bool { return true })
		}, "websocket"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(up.received())
			exec, err := tt.executor()
			if err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second) // outlives --request-timeout
			defer cancel()
			err = exec.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: strings.NewReader("hello proxy\n"), Stdout: &stdout, Stderr: &stderr})
			if err != nil {
				t.Fatalf("exec: %v", err)
			}
			if diff := cmp.Diff([]string{"HELLO PROXY\n", "bye\n"}, []string{stdout.String(), stderr.String()}); diff != "" {
				t.Errorf("stdout, stderr (-want +got):\n%s", diff)
			}
			got := up.received()[before:]
			if len(got) != 1 || !strings.EqualFold(got[0].Get("Upgrade"), tt.protocol) || got[0].Get("Impersonate-User") != "oidc:alice" ||
				got[0].Get("X-Test-Proto") != "HTTP/1.1" {
				t.Errorf("upstream saw %v, want one HTTP/1.1 %s upgrade impersonating oidc:alice", got, tt.protocol)
			}
		})
	}
}

func TestPortForwardThroughTheProxy(t *testing.T) {
	up := streamingUpstream(t, upperEchoServer(t))
	p := newTestProxy(t, up, proxyOptions{requestTimeout: time.Second})
	cfg := p.restConfig(p.token(t, "alice", "devs"))
	pfURL, _ := url.Parse(p.URL + "/api/v1/namespaces/team-a/pods/pod/portforward")
	rt, upgrader, err := spdy.RoundTripperFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: rt}, http.MethodPost, pfURL)
	stop, ready := make(chan struct{}), make(chan struct{})
	defer close(stop)
	var out, errOut bytes.Buffer
	fw, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"}, []string{"0:80"}, stop, ready, &out, &errOut)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = fw.ForwardPorts() }()
	select {
	case <-ready:
	case <-time.After(20 * time.Second):
		t.Fatalf("port-forward not ready: %s", errOut.String())
	}
	ports, err := fw.GetPorts()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := (&net.Dialer{}).DialContext(t.Context(), "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(ports[0].Local))))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	r := bufio.NewReader(conn)
	var got []string
	for _, line := range []string{"first\n", "second, after the request timeout\n"} {
		time.Sleep(600 * time.Millisecond) // the session outlives --request-timeout
		_, _ = io.WriteString(conn, line)
		reply, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("read through the port-forward: %v", err)
		}
		got = append(got, reply)
	}
	if diff := cmp.Diff([]string{"FIRST\n", "SECOND, AFTER THE REQUEST TIMEOUT\n"}, got); diff != "" {
		t.Errorf("replies (-want +got):\n%s", diff)
	}
}
