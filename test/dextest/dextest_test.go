package dextest

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aksoidc/aksoidc/internal/jwtclaims"
)

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
	getJSON(t, s, s.IssuerURL+"/.well-known/openid-configuration", &doc)
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
	postJSON(t, s.Client(), s.IssuerURL+"/device/code", url.Values{"client_id": {s.ClientID}, "scope": {"openid"}}, &dc)
	client := s.browser(t)
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

func decode(t *testing.T, idToken string) claims {
	t.Helper()
	var c claims
	if err := jwtclaims.Decode(idToken, &c); err != nil {
		t.Fatalf("ID token: %v", err)
	}
	return c
}

func TestTLSIssuer(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{TLS: true})
	if !strings.HasPrefix(s.IssuerURL, "https://127.0.0.1:") {
		t.Errorf("IssuerURL = %s, want https://127.0.0.1:PORT/dex", s.IssuerURL)
	}
	// Dex's certificate is trusted through CAFile only.
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.IssuerURL+"/.well-known/openid-configuration", nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		_ = resp.Body.Close()
		t.Errorf("a client without CAFile reached Dex over https")
	}
	c := decode(t, s.Login(t, "openid email groups").IDToken)
	want := claims{Issuer: s.IssuerURL, Audience: s.ClientID, Email: MockEmail, Groups: []string{MockGroup}, IssuedAt: c.IssuedAt, Expiry: c.IssuedAt + 600}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("ID token claims (-want +got):\n%s", diff)
	}
}
