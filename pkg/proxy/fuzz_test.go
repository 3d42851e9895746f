package proxy

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"golang.org/x/net/http/httpguts"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/client-go/rest"

	"github.com/aksoidc/aksoidc/pkg/proxy/authn"
)

// The seed corpora of these targets are in testdata/fuzz/<Name>; `make fuzz` explores further.

// FuzzImpersonationHeaders: for any identity authn accepts, the headers setImpersonation
// writes survive both wire formats (HTTP/2 accepts every value; an HTTP/1.1 write and read
// changes nothing) and k8s.io/apiserver's impersonation filter reads back exactly that
// identity, with the proxy's client-ip extra.
func FuzzImpersonationHeaders(f *testing.F) {
	f.Fuzz(func(t *testing.T, name, uid, g1, g2, key, value string) {
		u := &user.DefaultInfo{Name: name, UID: uid, Groups: []string{g1, g2}, Extra: map[string][]string{key: {value}}}
		if authn.CheckIdentity(u) != nil {
			return
		}
		h := http.Header{}
		setImpersonation(h, u, nil, "127.0.0.1")
		for k, vs := range h {
			for _, v := range vs {
				if !httpguts.ValidHeaderFieldName(k) || !httpguts.ValidHeaderFieldValue(v) {
					t.Fatalf("header %q: %q would be refused by the HTTP/2 transport", k, v)
				}
			}
		}
		want := &user.DefaultInfo{Name: name, UID: uid, Groups: []string{g1, g2, user.AllAuthenticated},
			Extra: map[string][]string{key: {value}, ClientIPExtra: {"127.0.0.1"}}}
		if diff := cmp.Diff(want, readImpersonation(t, http1RoundTrip(t, h)), cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("identity read back (-want +got):\n%s", diff)
		}
	})
}

// http1RoundTrip writes h as an HTTP/1.1 header block and reads it back as a server would.
func http1RoundTrip(t *testing.T, h http.Header) http.Header {
	t.Helper()
	var b bytes.Buffer
	if err := h.Write(&b); err != nil {
		t.Fatal(err)
	}
	b.WriteString("\r\n")
	read, err := textproto.NewReader(bufio.NewReader(&b)).ReadMIMEHeader()
	if err != nil {
		t.Fatalf("read back %q: %v", b.String(), err)
	}
	return http.Header(read)
}

// readImpersonation is whom kube-apiserver's impersonation filter makes of h.
func readImpersonation(t *testing.T, h http.Header) *user.DefaultInfo {
	t.Helper()
	var got *user.DefaultInfo
	filter := ReadByAPIServer(func(_ http.ResponseWriter, _ *http.Request, u *user.DefaultInfo) { got = u })
	req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/api", nil)
	req.Header = h
	rec := httptest.NewRecorder()
	filter.ServeHTTP(rec, req)
	if got == nil {
		t.Fatalf("the impersonation filter refused %v: %d %s", h, rec.Code, rec.Body)
	}
	return got
}

// captureTransport is the upstream of FuzzClientHeaders: it keeps the request the proxy sent.
type captureTransport struct{ got *http.Request }

func (c *captureTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.got = r
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("{}")), Request: r}, nil
}

type fixedAuthenticator struct{}

func (fixedAuthenticator) Authenticate(_ context.Context, token string) (authn.Identity, error) {
	if token != "good" {
		return authn.Identity{}, &authn.Error{Reason: authn.ReasonInvalidToken, Err: io.EOF}
	}
	return authn.Identity{User: &user.DefaultInfo{Name: "alice", Groups: []string{"devs"}}}, nil
}

// FuzzClientHeaders: whatever headers a client sends, a request that is forwarded carries the
// proxy's credential and identity only: one Authorization (the proxy's), the Impersonate-*
// headers of the authenticated user, no X-Remote-*, no bearer token in the WebSocket protocol
// list; and a request with any Impersonate* header is not forwarded at all.
func FuzzClientHeaders(f *testing.F) {
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		capture := &captureTransport{}
		h, err := NewHandler(Config{Authenticator: fixedAuthenticator{}, Logger: slog.New(slog.DiscardHandler), Metrics: NewMetrics(),
			Upstream: &rest.Config{Host: "https://upstream.invalid", BearerToken: "proxy", Transport: capture}})
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/api/v1/pods", nil)
		req.Header.Set("Authorization", "Bearer good")
		req.Header[k1] = append(req.Header[k1], v1)
		req.Header[k2] = append(req.Header[k2], v2)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		_, impersonating := hasImpersonation(req.Header)
		switch {
		case capture.got == nil:
			return // refused: nothing forwarded
		case impersonating:
			t.Fatalf("a request with client impersonation headers was forwarded: %v", req.Header)
		}
		checkForwardedHeaders(t, capture.got.Header)
	})
}

func checkForwardedHeaders(t *testing.T, got http.Header) {
	t.Helper()
	for name, values := range got {
		lower := strings.ToLower(name)
		switch {
		case lower == "authorization" && !cmp.Equal(values, []string{"Bearer proxy"}):
			t.Fatalf("Authorization upstream = %q, want the proxy's alone", values)
		case lower == "impersonate-user" && !cmp.Equal(values, []string{"alice"}),
			lower == "impersonate-group" && !cmp.Equal(values, []string{"devs"}):
			t.Fatalf("%s upstream = %q, want the authenticated user's", name, values)
		case strings.HasPrefix(lower, "impersonate-extra-") && name != clientIPHeader,
			lower == "impersonate-uid", strings.HasPrefix(lower, "x-remote-"):
			t.Fatalf("%s: %q reached the API server", name, values)
		case lower == "sec-websocket-protocol" && carriesBearer(values):
			t.Fatalf("a bearer token in Sec-WebSocket-Protocol reached the API server: %q", values)
		}
	}
	if got.Get("Impersonate-User") != "alice" {
		t.Fatalf("Impersonate-User upstream = %q, want alice", got.Get("Impersonate-User"))
	}
}

func carriesBearer(protocols []string) bool {
	for _, p := range strings.Split(strings.Join(protocols, ","), ",") {
		if strings.HasPrefix(strings.TrimSpace(p), websocketBearerPrefix) {
			return true
		}
	}
	return false
}
