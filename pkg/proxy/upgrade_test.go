package proxy_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	utilproxy "k8s.io/apimachinery/pkg/util/proxy"
	apiproxy "k8s.io/apiserver/pkg/util/proxy"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/transport/spdy"
	"k8s.io/streaming/pkg/httpstream"
	"k8s.io/streaming/pkg/httpstream/wsstream"

	"github.com/aksoidc/aksoidc/test/kubelettest"
	"github.com/aksoidc/aksoidc/test/testpki"
)

// streamingUpstream plays kube-apiserver in front of a kubelet (test/kubelettest: the
// cri-streaming server over HTTPS, port 80 an echo server), with kube-apiserver's own handlers:
// a WebSocket exec that offers v5.channel.k8s.io is translated to SPDY, and a WebSocket
// port-forward tunnels SPDY; every other upgrade reaches the kubelet as it is.
func streamingUpstream(t *testing.T) *recordingUpstream {
	kubelet := kubelettest.Start(t, kubelettest.Options{Ports: map[int32]string{80: kubelettest.Echo(t)}})
	toKubelet := &http.Transport{TLSClientConfig: testpki.ClientConfig(t, kubelet.CA.PEM)}
	t.Cleanup(toKubelet.CloseIdleConnections)
	return newRecordingUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		// The kubelet's paths for pod team-a/pod, as kube-apiserver asks for them.
		location, _ := url.Parse(kubelet.URL)
		location.RawQuery = r.URL.RawQuery
		isExec := strings.HasSuffix(r.URL.Path, "/exec")
		if isExec {
			location.Path = "/exec/team-a/pod/" + kubelettest.Container
		} else {
			location.Path = "/portForward/team-a/pod"
		}
		q := r.URL.Query()
		switch {
		case isExec && wsstream.IsWebSocketRequestWithStreamCloseProtocol(r):
			opts := apiproxy.Options{Stdin: q.Get("input") == "1", Stdout: q.Get("output") == "1", Stderr: q.Get("error") == "1", Tty: q.Get("tty") == "1"}
			apiproxy.NewStreamTranslatorHandler(location, toKubelet, 0, opts).ServeHTTP(w, r)
		case !isExec && wsstream.IsWebSocketRequestWithTunnelingProtocol(r):
			upgrade := utilproxy.NewUpgradeAwareHandler(location, toKubelet, false, true, errorResponder{t})
			apiproxy.NewTunnelingHandler(upgrade).ServeHTTP(w, r)
		default:
			utilproxy.NewUpgradeAwareHandler(location, toKubelet, false, true, errorResponder{t}).ServeHTTP(w, r)
		}
	})
}

type errorResponder struct{ t *testing.T }

func (e errorResponder) Error(w http.ResponseWriter, _ *http.Request, err error) {
	e.t.Errorf("upstream upgrade to the kubelet: %v", err)
	http.Error(w, err.Error(), http.StatusBadGateway)
}

func (p *testProxy) restConfig(token string) *rest.Config {
	return &rest.Config{Host: p.URL, BearerToken: token, TLSClientConfig: rest.TLSClientConfig{CAData: p.CAPEM}}
}

// kubectlFallback is how kubectl (>= 1.31) decides to retry over SPDY.
func kubectlFallback(err error) bool {
	return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
}

func TestExecThroughTheProxy(t *testing.T) {
	up := streamingUpstream(t)
	p := newTestProxy(t, up, proxyOptions{requestTimeout: time.Second})
	cfg := p.restConfig(p.token(t, "alice", "devs"))
	// tee /dev/stderr answers stdin on stdout and stderr when stdin ends; WebSocket v4 cannot
	// end stdin (v5 was made for that), so it gets head -n 1.
	const tee, head = "command=tee&command=%2Fdev%2Fstderr", "command=head&command=-n&command=1"
	execURL := func(command string) *url.URL {
		u, _ := url.Parse(p.URL + "/api/v1/namespaces/team-a/pods/pod/exec?" + command + "&input=1&output=1&error=1")
		return u
	}
	spdyExec := func() (remotecommand.Executor, error) {
		return remotecommand.NewSPDYExecutor(cfg, http.MethodPost, execURL(tee))
	}
	tests := []struct {
		name      string
		executor  func() (remotecommand.Executor, error)
		stderr    string // what the command writes to stderr
		upgrade   string // the upgrade the upstream saw
		protocols string // the subprotocols offered, for WebSocket
	}{
		{"WebSocket v4, as clients before 1.30", func() (remotecommand.Executor, error) {
			return remotecommand.NewWebSocketExecutorForProtocols(cfg, http.MethodGet, execURL(head).String(), "v4.channel.k8s.io")
		}, "", "websocket", "v4.channel.k8s.io"},
		{"SPDY", spdyExec, "hello proxy\n", "SPDY/3.1", ""},
		{"as kubectl: WebSocket with SPDY fallback", func() (remotecommand.Executor, error) {
			ws, err := remotecommand.NewWebSocketExecutor(cfg, http.MethodGet, execURL(tee).String())
			if err != nil {
				return nil, err
			}
			s, err := spdyExec()
			if err != nil {
				return nil, err
			}
			return remotecommand.NewFallbackExecutor(ws, s, kubectlFallback)
		}, "hello proxy\n", "websocket", "v5.channel.k8s.io"},
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
			if diff := cmp.Diff([]string{"hello proxy\n", tt.stderr}, []string{stdout.String(), stderr.String()}); diff != "" {
				t.Errorf("stdout, stderr (-want +got):\n%s", diff)
			}
			checkUpgrade(t, up.received()[before:], tt.upgrade, tt.protocols)
		})
	}
}

// checkUpgrade wants exactly one request upstream: an HTTP/1.1 upgrade impersonating alice,
// offering the given WebSocket subprotocols and no bearer token among them.
func checkUpgrade(t *testing.T, got []http.Header, upgrade, protocols string) {
	t.Helper()
	if len(got) != 1 {
		t.Fatalf("upstream saw %d requests, want 1: %v", len(got), got)
	}
	h := got[0]
	gotProtocols := strings.ReplaceAll(strings.Join(h.Values("Sec-Websocket-Protocol"), ","), " ", "")
	want := []string{upgrade, "oidc:alice", "HTTP/1.1", protocols}
	if diff := cmp.Diff(want, []string{h.Get("Upgrade"), h.Get("Impersonate-User"), h.Get("X-Test-Proto"), gotProtocols}); diff != "" {
		t.Errorf("upstream's Upgrade, Impersonate-User, protocol, subprotocols (-want +got):\n%s", diff)
	}
}

func TestPortForwardThroughTheProxy(t *testing.T) {
	up := streamingUpstream(t)
	p := newTestProxy(t, up, proxyOptions{requestTimeout: time.Second})
	cfg := p.restConfig(p.token(t, "alice", "devs"))
	pfURL, _ := url.Parse(p.URL + "/api/v1/namespaces/team-a/pods/pod/portforward")
	spdyDialer := func(t *testing.T) httpstream.Dialer {
		rt, upgrader, err := spdy.RoundTripperFor(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return spdy.NewDialerForStreaming(upgrader, &http.Client{Transport: rt}, http.MethodPost, pfURL)
	}
	tunnel := func(t *testing.T) httpstream.Dialer {
		d, err := portforward.NewSPDYOverWebsocketDialerForStreaming(pfURL, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	tests := []struct {
		name      string
		dialer    func(t *testing.T) httpstream.Dialer
		upgrade   string
		protocols string
	}{
		{"SPDY", spdyDialer, "SPDY/3.1", ""},
		{"WebSocket tunnel", tunnel, "websocket", "SPDY/3.1+portforward.k8s.io"},
		{"as kubectl: WebSocket tunnel with SPDY fallback", func(t *testing.T) httpstream.Dialer {
			return portforward.NewFallbackDialerForStreaming(tunnel(t), spdyDialer(t), kubectlFallback)
		}, "websocket", "SPDY/3.1+portforward.k8s.io"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(up.received())
			conn := kubelettest.ForwardPort(t, tt.dialer(t))
			r := bufio.NewReader(conn)
			// The middle line spans many frames.
			lines := []string{"first\n", strings.Repeat("large ", 10_000) + "\n", "last, after the request timeout\n"}
			for i, line := range lines {
				if i == len(lines)-1 {
					time.Sleep(1200 * time.Millisecond) // the session outlives --request-timeout
				}
				if _, err := io.WriteString(conn, line); err != nil {
					t.Fatalf("write through the port-forward: %v", err)
				}
				reply, err := r.ReadString('\n')
				if err != nil {
					t.Fatalf("read through the port-forward: %v", err)
				}
				if reply != line {
					t.Errorf("line %d: got %d bytes %.40q..., want %.40q...", i, len(reply), reply, line)
				}
			}
			checkUpgrade(t, up.received()[before:], tt.upgrade, tt.protocols)
		})
	}
}
