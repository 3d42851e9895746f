package proxy_test

import (
	"bufio"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"k8s.io/client-go/rest"

	"github.com/aksoidc/aksoidc/pkg/proxy"
	"github.com/aksoidc/aksoidc/pkg/proxy/authn"
	"github.com/aksoidc/aksoidc/test/oidctest"
	"github.com/aksoidc/aksoidc/test/poll"
	"github.com/aksoidc/aksoidc/test/syncbuf"
)

// recordingUpstream stands in for the API server where the test needs to see exactly what the
// proxy sent; the envtest tests use the real one.
type recordingUpstream struct {
	*httptest.Server
	mu      sync.Mutex
	headers []http.Header
	handler http.HandlerFunc
}

func newRecordingUpstream(t testing.TB, handler http.HandlerFunc) *recordingUpstream {
	t.Helper()
	u := &recordingUpstream{handler: handler}
	u.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		h := r.Header.Clone()
		h.Set("X-Test-Proto", r.Proto) // how the proxy reached us
		u.headers = append(u.headers, h)
		u.mu.Unlock()
		if u.handler != nil {
			u.handler(w, r)
			return
		}
		_, _ = io.WriteString(w, `{"kind":"PodList","apiVersion":"v1","items":[]}`)
	}))
	u.EnableHTTP2 = true // as the API server: the proxy must still upgrade over HTTP/1.1
	u.StartTLS()
	t.Cleanup(u.Close)
	return u
}

func (u *recordingUpstream) received() []http.Header {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]http.Header(nil), u.headers...)
}

func (u *recordingUpstream) restConfig() *rest.Config {
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: u.Certificate().Raw})
	return &rest.Config{Host: u.URL, BearerToken: "proxy-own-credential", TLSClientConfig: rest.TLSClientConfig{CAData: caPEM}}
}

type testProxy struct {
	URL    string
	CAPEM  []byte
	Client *http.Client
	Issuer *oidctest.Issuer
	Logs   *syncbuf.Buffer
	stop   chan struct{}
}

type proxyOptions struct {
	requestTimeout time.Duration
	trusted        []netip.Prefix
}

func newTestProxy(t testing.TB, up *recordingUpstream, o proxyOptions) *testProxy {
	t.Helper()
	iss := oidctest.New(t)
	src, err := authn.FromFlags(authn.OIDCFlags{
		IssuerURL: iss.URL, ClientID: "kubernetes", CAFile: iss.CAFile, UsernameClaim: "sub",
		UsernamePrefix: "oidc:", GroupsClaim: "groups", GroupsPrefix: "oidc:",
	})
	if err != nil {
		t.Fatal(err)
	}
	metrics := proxy.NewMetrics()
	a, err := authn.New(t.Context(), authn.Options{Source: src, OnCache: metrics.TokenCache})
	if err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 20*time.Second, func() bool { return a.Ready(t.Context()) == nil })
	logs := &syncbuf.Buffer{}
	stop := make(chan struct{})
	h, err := proxy.NewHandler(proxy.Config{
		Authenticator: a, Upstream: up.restConfig(), RequestTimeout: o.requestTimeout,
		TrustedProxies: o.trusted, Logger: slog.New(slog.NewJSONHandler(logs, nil)), Metrics: metrics, Stop: stop,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	return &testProxy{URL: srv.URL, CAPEM: caPEM, Client: srv.Client(), Issuer: iss, Logs: logs, stop: stop}
}

func (p *testProxy) token(t testing.TB, sub string, groups ...string) string {
	c := p.Issuer.Claims(sub, "kubernetes", time.Hour)
	c["groups"] = groups
	return p.Issuer.Sign(t, c)
}

func (p *testProxy) do(t *testing.T, path string, header http.Header) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, p.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v // keeps the name exactly as the test wrote it
	}
	resp, err := p.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

func TestClientImpersonationIsRefused(t *testing.T) {
	up := newRecordingUpstream(t, nil)
	p := newTestProxy(t, up, proxyOptions{})
	bearer := "Bearer " + p.token(t, "alice", "devs")
	tests := []struct {
		name   string
		header http.Header
	}{
		{"Impersonate-User", http.Header{"Impersonate-User": {"admin"}}},
		{"lower-case impersonate-group", http.Header{"impersonate-group": {"system:masters"}}},
		{"Impersonate-Uid", http.Header{"Impersonate-Uid": {"1"}}},
		{"Impersonate-Extra-x twice", http.Header{"Impersonate-Extra-X": {"a", "b"}}},
		{"upper-case IMPERSONATE-USER", http.Header{"IMPERSONATE-USER": {"admin"}}},
		{"mixed case, two names", http.Header{"iMpErSoNaTe-GrOuP": {"system:masters"}, "Impersonate-Group": {"x"}}},
		{"without a token", http.Header{"Impersonate-User": {"admin"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.header.Clone()
			if tt.name != "without a token" {
				h["Authorization"] = []string{bearer}
			}
			code, body := p.do(t, "/api/v1/namespaces/team-a/pods", h)
			want := map[string]any{"kind": "Status", "apiVersion": "v1", "metadata": map[string]any{}, "status": "Failure",
				"message": "impersonation is not allowed through this proxy", "reason": "Forbidden", "code": 403.0}
			if diff := cmp.Diff(want, body); diff != "" || code != http.StatusForbidden {
				t.Errorf("status %d, body (-want +got):\n%s", code, diff)
			}
		})
	}
	if got := len(up.received()); got != 0 {
		t.Errorf("upstream received %d requests, want none", got)
	}
}

func TestBadTokensAreNotForwarded(t *testing.T) {
	up := newRecordingUpstream(t, nil)
	p := newTestProxy(t, up, proxyOptions{})
	expired := p.Issuer.Claims("alice", "kubernetes", -time.Hour)
	tests := []struct {
		name          string
		authorization []string
	}{
		{"no header", nil},
		{"empty bearer", []string{"Bearer "}},
		{"basic auth", []string{"Basic YWxpY2U6cHc="}},
		{"malformed JWT", []string{"Bearer a.b.c"}},
		{"expired", []string{"Bearer " + p.Issuer.Sign(t, expired)}},
		{"alg none", []string{"Bearer " + p.Issuer.SignMode(t, oidctest.None, p.Issuer.Claims("alice", "kubernetes", time.Hour))}},
		{"two Authorization headers", []string{"Bearer " + p.token(t, "alice"), "Bearer " + p.token(t, "bob")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.authorization != nil {
				h["Authorization"] = tt.authorization
			}
			code, body := p.do(t, "/api/v1/pods", h)
			if code != http.StatusUnauthorized || body["reason"] != "Unauthorized" {
				t.Errorf("got %d %v, want 401 with an Unauthorized Status", code, body)
			}
		})
	}
	if got := len(up.received()); got != 0 {
		t.Errorf("upstream received %d requests, want none", got)
	}
}

func TestForwardedRequestCarriesOnlyTheProxysIdentityClaims(t *testing.T) {
	up := newRecordingUpstream(t, nil)
	p := newTestProxy(t, up, proxyOptions{})
	code, _ := p.do(t, "/api/v1/namespaces/team-a/pods", http.Header{
		"Authorization":          {"Bearer " + p.token(t, "alice", "devs", "ops")},
		"X-Remote-User":          {"admin"},
		"X-Remote-Group":         {"system:masters"},
		"X-Forwarded-For":        {"203.0.113.9"},
		"Sec-Websocket-Protocol": {"v5.channel.k8s.io, base64url.bearer.authorization.k8s.io.c2VjcmV0"},
	})
	if code != http.StatusOK {
		t.Fatalf("status %d, want 200", code)
	}
	got := up.received()
	if len(got) != 1 {
		t.Fatalf("upstream received %d requests, want 1", len(got))
	}
	want := map[string][]string{
		"Authorization":                            {"Bearer proxy-own-credential"},
		"Impersonate-User":                         {"oidc:alice"},
		"Impersonate-Group":                        {"oidc:devs", "oidc:ops"},
		"Impersonate-Extra-Aksoidc.io%2fclient-Ip": {"127.0.0.1"},
		"Sec-Websocket-Protocol":                   {"v5.channel.k8s.io"},
		"X-Remote-User":                            nil,
		"X-Remote-Group":                           nil,
		"X-Forwarded-For":                          nil,
		"X-Test-Proto":                             {"HTTP/2.0"}, // ordinary requests may use HTTP/2
	}
	gotSubset := map[string][]string{}
	for k := range want {
		gotSubset[k] = got[0][k]
	}
	if diff := cmp.Diff(want, gotSubset); diff != "" {
		t.Errorf("headers upstream (-want +got):\n%s", diff)
	}
}

func TestLogsCarryTheRequestButNeverTheToken(t *testing.T) {
	up := newRecordingUpstream(t, nil)
	p := newTestProxy(t, up, proxyOptions{})
	token := p.token(t, "alice", "devs")
	p.do(t, "/api/v1/namespaces/team-a/pods", http.Header{"Authorization": {"Bearer " + token}})
	bad := p.Issuer.SignMode(t, oidctest.HS256WithPublicKey, p.Issuer.Claims("alice", "kubernetes", time.Hour))
	p.do(t, "/api/v1/pods", http.Header{"Authorization": {"Bearer " + bad}})
	// The line is written once the handler returns, which may be after the client has the answer.
	poll.Until(t, 20*time.Second, func() bool { return strings.Count(p.Logs.String(), `"msg":"request"`) == 2 })
	logs := p.Logs.String()
	for _, tok := range []string{token, bad} {
		for _, part := range strings.Split(tok, ".") {
			if strings.Contains(logs, part) {
				t.Fatalf("the log holds part of a token:\n%s", logs)
			}
		}
	}
	var lines []map[string]any
	for line := range strings.Lines(logs) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		if m["msg"] == "request" {
			if id, _ := m["auditID"].(string); uuid.Validate(id) != nil {
				t.Errorf("auditID %q is not a UUID", id)
			}
			delete(m, "time")
			delete(m, "duration")
			delete(m, "auditID")
			lines = append(lines, m)
		}
	}
	want := []map[string]any{
		{"level": "INFO", "msg": "request", "clientIP": "127.0.0.1", "user": "oidc:alice", "groups": []any{"oidc:devs"}, "passthrough": false,
			"verb": "list", "method": "GET", "path": "/api/v1/namespaces/team-a/pods", "status": 200.0, "reason": "", "bytes": 47.0},
		{"level": "INFO", "msg": "request", "clientIP": "127.0.0.1", "user": "", "groups": nil, "passthrough": false,
			"verb": "list", "method": "GET", "path": "/api/v1/pods", "status": 401.0, "reason": "invalid_token", "bytes": 129.0},
	}
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("access log (-want +got):\n%s", diff)
	}
}

func TestTimeoutsSpareLongRunningRequests(t *testing.T) {
	up := newRecordingUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_ = http.NewResponseController(w).Flush()
		select { // answer after the proxy's timeout, unless the proxy gave up first
		case <-time.After(300 * time.Millisecond):
			_, _ = io.WriteString(w, `{"type":"ADDED"}`+"\n")
		case <-r.Context().Done():
		}
	})
	p := newTestProxy(t, up, proxyOptions{requestTimeout: 100 * time.Millisecond})
	h := http.Header{"Authorization": {"Bearer " + p.token(t, "alice")}}
	tests := []struct {
		name     string
		path     string
		wantBody string // "" for a request the proxy cuts: the client must see an error
	}{
		{"list is cut at the request timeout", "/api/v1/pods", ""},
		{"watch outlives it", "/api/v1/pods?watch=true", `{"type":"ADDED"}` + "\n"},
		{"logs outlive it", "/api/v1/namespaces/a/pods/b/log?follow=true", `{"type":"ADDED"}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, p.URL+tt.path, nil)
			req.Header = h.Clone()
			resp, err := p.Client.Do(req)
			if tt.wantBody == "" {
				// The proxy buffers a bounded response, so one cut before anything was sent
				// reaches the client as a reset stream, not as a 200 with a short body.
				if err == nil {
					body, _ := io.ReadAll(resp.Body)
					_ = resp.Body.Close()
					t.Fatalf("got %s %q, want the stream reset", resp.Status, body)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = resp.Body.Close() }()
			body, _ := io.ReadAll(resp.Body) // a cut stream may end with an error or without
			got := string(body)
			if diff := cmp.Diff(tt.wantBody, got); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
}

// watchUpstream answers every request as an open watch that sends, and flushes, each line
// written to the channel it returns.
func watchUpstream(t testing.TB) (*recordingUpstream, chan<- string) {
	events := make(chan string)
	up := newRecordingUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		_ = http.NewResponseController(w).Flush()
		for {
			select {
			case e := <-events:
				_, _ = io.WriteString(w, e)
				_ = http.NewResponseController(w).Flush()
			case <-r.Context().Done():
				return
			}
		}
	})
	return up, events
}

func TestWatchChunksArriveAtOnceAndStopEndsThemCleanly(t *testing.T) {
	up, events := watchUpstream(t)
	p := newTestProxy(t, up, proxyOptions{requestTimeout: time.Second})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, p.URL+"/api/v1/pods?watch=true", nil)
	req.Header.Set("Authorization", "Bearer "+p.token(t, "alice"))
	resp, err := p.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	r := bufio.NewReader(resp.Body)
	// The upstream keeps the stream open, so each read returns only if the proxy passed the
	// event on at once instead of buffering it (BenchmarkWatchEventLatency measures how soon).
	for _, e := range []string{"{\"type\":\"ADDED\"}\n", "{\"type\":\"MODIFIED\"}\n"} {
		events <- e
		line, err := r.ReadString('\n')
		if err != nil || line != e {
			t.Fatalf("read %q, %v; want %q", line, err, e)
		}
	}
	close(p.stop)
	rest, err := io.ReadAll(r)
	if err != nil || len(rest) != 0 {
		t.Errorf("after stop: read %q, %v; want a clean end of stream", rest, err)
	}
}
