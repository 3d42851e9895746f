package dextest

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// tokens is Dex's token endpoint answer, or its error.
type tokens struct {
	IDToken      string `json:"id_token"`
	RefreshToken string `json:"refresh_token"`
	Error        string `json:"error"`
}

// claims are the ID token claims the tests look at.
type claims struct {
	Issuer   string   `json:"iss"`
	Audience string   `json:"aud"`
	Email    string   `json:"email"`
	Groups   []string `json:"groups"`
	IssuedAt int64    `json:"iat"`
	Expiry   int64    `json:"exp"`
}

func TestStartServesDiscovery(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{})
	if !strings.HasPrefix(s.IssuerURL, "http://127.0.0.1:") || !strings.HasSuffix(s.IssuerURL, "/dex") {
		t.Errorf("IssuerURL = %s, want http://127.0.0.1:PORT/dex", s.IssuerURL)
	}
	if s.ClientID != "aksoidc" {
		t.Errorf("ClientID = %q, want the default aksoidc", s.ClientID)
	}
	var doc struct {
		Issuer        string   `json:"issuer"`
		PKCEMethods   []string `json:"code_challenge_methods_supported"`
		TokenEndpoint string   `json:"token_endpoint"`
	}
	getJSON(t, s.IssuerURL+"/.well-known/openid-configuration", &doc)
	want := struct {
		Issuer        string   `json:"issuer"`
		PKCEMethods   []string `json:"code_challenge_methods_supported"`
		TokenEndpoint string   `json:"token_endpoint"`
	}{s.IssuerURL, []string{"S256", "plain"}, s.IssuerURL + "/token"}
	if diff := cmp.Diff(want, doc); diff != "" {
		t.Errorf("discovery (-want +got):\n%s", diff)
	}
	if n := s.Logins(); n != 0 {
		t.Errorf("Logins() = %d before any login, want 0", n)
	}
}

func TestAuthCodeLogin(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{IDTokenExpiry: 2 * time.Minute, ClientID: "custom"})
	got := exchange(t, s, login(t, s, "openid email groups"))
	if got.Error != "" {
		t.Fatalf("code exchange failed: %s", got.Error)
	}
	c := decode(t, got.IDToken)
	want := claims{Issuer: s.IssuerURL, Audience: "custom", Email: MockEmail, Groups: []string{MockGroup}, IssuedAt: c.IssuedAt, Expiry: c.IssuedAt + 120}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("ID token claims (-want +got):\n%s", diff)
	}
	if n := s.Logins(); n != 1 {
		t.Errorf("Logins() = %d after one login, want 1", n)
	}
}

func TestDeviceFlowLoginCounts(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{})
	var dc struct {
		DeviceCode string `json:"device_code"`
		UserCode   string `json:"user_code"`
	}
	postJSON(t, http.DefaultClient, s.IssuerURL+"/device/code", url.Values{"client_id": {s.ClientID}, "scope": {"openid"}}, &dc)
	client := browser(t)
	p := post(t, client, s.IssuerURL+"/device/auth/verify_code", url.Values{"user_code": {dc.UserCode}})
	if p.status != http.StatusOK || p.url.Path != "/dex/device/callback" {
		t.Fatalf("device verification ended at %s with %d, want /dex/device/callback with 200", p.url.Path, p.status)
	}
	got := exchange(t, s, url.Values{
		"grant_type":  {"urn:ietf:params:oauth:grant-type:device_code"},
		"device_code": {dc.DeviceCode},
	})
	if got.Error != "" || got.IDToken == "" {
		t.Fatalf("device token request failed: %q", got.Error)
	}
	if n := s.Logins(); n != 1 {
		t.Errorf("Logins() = %d after one device flow login, want 1", n)
	}
}

func TestRestartRevokesRefreshTokens(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{})
	first := exchange(t, s, login(t, s, "openid offline_access"))
	refreshed := exchange(t, s, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first.RefreshToken}})
	if refreshed.Error != "" || refreshed.RefreshToken == "" {
		t.Fatalf("refresh before restart failed: %q", refreshed.Error)
	}
	issuer := s.IssuerURL
	s.Restart(t)
	if s.IssuerURL != issuer {
		t.Errorf("IssuerURL changed from %s to %s on restart", issuer, s.IssuerURL)
	}
	after := exchange(t, s, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshed.RefreshToken}})
	if after.Error == "" {
		t.Errorf("refresh after restart succeeded, want it rejected")
	}
	if n := s.Logins(); n != 1 {
		t.Errorf("Logins() = %d after restart, want the 1 login from before", n)
	}
	exchange(t, s, login(t, s, "openid"))
	if n := s.Logins(); n != 2 {
		t.Errorf("Logins() = %d after a second login, want 2", n)
	}
}

// login runs the authorization code flow like a browser would, to a loopback
// redirect_uri served by httptest, and returns the token request for the code.
func login(t *testing.T, s *Server, scope string) url.Values {
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
	p := get(t, browser(t), s.IssuerURL+"/auth?"+q.Encode())
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
func exchange(t *testing.T, s *Server, form url.Values) tokens {
	t.Helper()
	form.Set("client_id", s.ClientID)
	var got tokens
	postJSON(t, http.DefaultClient, s.IssuerURL+"/token", form, &got)
	return got
}

func decode(t *testing.T, idToken string) claims {
	t.Helper()
	parts := strings.Split(idToken, ".")
	if len(parts) != 3 {
		t.Fatalf("ID token has %d parts, want 3", len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("decode ID token payload: %v", err)
	}
	var c claims
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatalf("decode ID token claims: %v", err)
	}
	return c
}

// browser is a client that keeps cookies and follows redirects.
func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 10 * time.Second}
}

// page is a read answer: what a test looks at once the body is closed.
type page struct {
	status int
	url    *url.URL // the last one, after redirects
	body   []byte
}

func get(t *testing.T, c *http.Client, u string) page {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, c, req)
}

func post(t *testing.T, c *http.Client, u string, form url.Values) page {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return do(t, c, req)
}

func do(t *testing.T, c *http.Client, req *http.Request) page {
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

func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	decodeBody(t, get(t, http.DefaultClient, u), v)
}

func postJSON(t *testing.T, c *http.Client, u string, form url.Values, v any) {
	t.Helper()
	decodeBody(t, post(t, c, u, form), v)
}

func decodeBody(t *testing.T, p page, v any) {
	t.Helper()
	if err := json.Unmarshal(p.body, v); err != nil {
		t.Fatalf("%s: decode JSON answer (%d): %v", p.url, p.status, err)
	}
}
