package oidctest_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/go-cmp/cmp"

	"github.com/aksoidc/aksoidc/test/oidctest"
	"github.com/aksoidc/aksoidc/test/testpki"
)

func verifier(t *testing.T, iss *oidctest.Issuer, clientID string) *oidc.IDTokenVerifier {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: testpki.ClientConfig(t, iss.CAPEM)}}
	ctx := oidc.ClientContext(t.Context(), client)
	provider, err := oidc.NewProvider(ctx, iss.URL)
	if err != nil {
		t.Fatalf("discover %s: %v", iss.URL, err)
	}
	return provider.VerifierContext(ctx, &oidc.Config{ClientID: clientID})
}

func TestIssuerTokensAreVerifiedByGoOIDC(t *testing.T) {
	iss := oidctest.New(t)
	v := verifier(t, iss, "kubernetes")
	tests := []struct {
		name    string
		mode    oidctest.SignMode
		ttl     time.Duration
		aud     string
		wantSub string // empty: the verifier must refuse the token
	}{
		{name: "RS256 is accepted", mode: oidctest.RS256, ttl: time.Minute, aud: "kubernetes", wantSub: "alice"},
		{name: "alg none is refused", mode: oidctest.None, ttl: time.Minute, aud: "kubernetes"},
		{name: "HS256 keyed with the public key is refused", mode: oidctest.HS256WithPublicKey, ttl: time.Minute, aud: "kubernetes"},
		{name: "a key not in the JWKS is refused", mode: oidctest.UnknownKey, ttl: time.Minute, aud: "kubernetes"},
		{name: "an expired token is refused", mode: oidctest.RS256, ttl: -time.Minute, aud: "kubernetes"},
		{name: "another audience is refused", mode: oidctest.RS256, ttl: time.Minute, aud: "other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := iss.SignMode(t, tt.mode, iss.Claims("alice", tt.aud, tt.ttl))
			tok, err := v.Verify(context.Background(), raw)
			gotSub := ""
			if err == nil {
				gotSub = tok.Subject
			}
			if diff := cmp.Diff(tt.wantSub, gotSub); diff != "" {
				t.Errorf("verified subject (-want +got):\n%s\nverify error: %v", diff, err)
			}
		})
	}
}

func TestIssuerDiscovery(t *testing.T) {
	iss := oidctest.New(t)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: testpki.ClientConfig(t, iss.CAPEM)}}
	provider, err := oidc.NewProvider(oidc.ClientContext(t.Context(), client), iss.URL)
	if err != nil {
		t.Fatalf("discover: %v", err)
	}
	var got struct {
		Device     string   `json:"device_authorization_endpoint"`
		Grants     []string `json:"grant_types_supported"`
		Challenges []string `json:"code_challenge_methods_supported"`
	}
	if err := provider.Claims(&got); err != nil {
		t.Fatalf("decode discovery: %v", err)
	}
	want := struct {
		Device     string   `json:"device_authorization_endpoint"`
		Grants     []string `json:"grant_types_supported"`
		Challenges []string `json:"code_challenge_methods_supported"`
	}{
		Device:     iss.URL + "/device/code",
		Grants:     []string{"authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"},
		Challenges: []string{"S256"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("discovery (-want +got):\n%s", diff)
	}
	endpoints := provider.Endpoint()
	if diff := cmp.Diff([]string{iss.URL + "/authorize", iss.URL + "/token"}, []string{endpoints.AuthURL, endpoints.TokenURL}); diff != "" {
		t.Errorf("endpoints (-want +got):\n%s", diff)
	}
}
