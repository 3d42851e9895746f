package dextest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Tokens is Dex's token endpoint answer, or its error.
type Tokens struct {
	IDToken      string `json:"id_token"`
	RefreshToken string `json:"refresh_token"`
	Error        string `json:"error"`
}

// Login signs the mock user in with the authorization code flow, as a browser and a client
// would, and returns Dex's tokens; the test fails if Dex gives none.
func (s *Server) Login(t testing.TB, scope string) Tokens {
	t.Helper()
	got := exchange(t, s, login(t, s, scope))
	if got.Error != "" || got.IDToken == "" {
		t.Fatalf("dex code exchange failed: %q", got.Error)
	}
	return got
}

// Client is an HTTP client that trusts Dex's certificate.
func (s *Server) Client() *http.Client {
	return &http.Client{Transport: s.transport, Timeout: 10 * time.Second}
}

// login runs the authorization code flow like a browser would, to a loopback
// redirect_uri served by httptest, and returns the token request for the code.
func login(t testing.TB, s *Server, scope string) url.Values {
	t.Helper()
	queries := make(chan url.Values, 1)
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case queries <- r.URL.Query():
		default: // only the first redirect counts
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(cb.Close)
	q := url.Values{
		"client_id": {s.ClientID}, "redirect_uri": {cb.URL + "/callback"},
		"response_type": {"code"}, "scope": {scope}, "state": {"st4te"},
	}
	p := get(t, s.browser(t), s.IssuerURL+"/auth?"+q.Encode())
	var gotQuery url.Values
	select {
	case gotQuery = <-queries:
	default:
		t.Fatalf("login ended at %s with %d, want the callback server", p.url, p.status)
	}
	if gotQuery.Get("state") != "st4te" || gotQuery.Get("code") == "" {
		t.Fatalf("callback got %v, want a code and state st4te", gotQuery)
	}
	return url.Values{"grant_type": {"authorization_code"}, "code": {gotQuery.Get("code")}, "redirect_uri": {q.Get("redirect_uri")}}
}

// exchange posts a token request for the public client.
func exchange(t testing.TB, s *Server, form url.Values) Tokens {
	t.Helper()
	form.Set("client_id", s.ClientID)
	var got Tokens
	postJSON(t, s.Client(), s.IssuerURL+"/token", form, &got)
	return got
}

// browser is a client that trusts Dex, keeps cookies and follows redirects.
func (s *Server) browser(t testing.TB) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Transport: s.transport, Timeout: 10 * time.Second}
}

// page is a read answer: what a test looks at once the body is closed.
type page struct {
	status int
	url    *url.URL // the last one, after redirects
	body   []byte
}

func get(t testing.TB, c *http.Client, u string) page {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, c, req)
}

func post(t testing.TB, c *http.Client, u string, form url.Values) page {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return do(t, c, req)
}

func do(t testing.TB, c *http.Client, req *http.Request) page {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", req.Method, req.URL, err)
	}
	return page{status: resp.StatusCode, url: resp.Request.URL, body: body}
}

func getJSON(t testing.TB, s *Server, u string, v any) {
	t.Helper()
	decodeBody(t, get(t, s.Client(), u), v)
}

func postJSON(t testing.TB, c *http.Client, u string, form url.Values, v any) {
	t.Helper()
	decodeBody(t, post(t, c, u, form), v)
}

func decodeBody(t testing.TB, p page, v any) {
	t.Helper()
	if err := json.Unmarshal(p.body, v); err != nil {
		t.Fatalf("%s: decode JSON answer (%d): %v", p.url, p.status, err)
	}
}
