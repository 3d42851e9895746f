package oidctest_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/go-cmp/cmp"

	"github.com/aksoidc/aksoidc/test/oidctest"
	"github.com/aksoidc/aksoidc/test/testpki"
)

const tenant = "5d2a7e0c-3f41-4b6e-9a8d-1c2b3e4f5a6b"

// TestEntraDiscovery: the v2.0 document names the v2.0 issuer; the v1.0 one, served at the
// sts stand-in and at the tenant's login path, names the sts issuer with its trailing slash.
func TestEntraDiscovery(t *testing.T) {
	e := oidctest.NewEntra(t, tenant)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: testpki.ClientConfig(t, e.CAPEM)}}
	tests := []struct{ name, path, wantIssuer string }{
		{"v2.0", "/" + tenant + "/v2.0", e.URL + "/" + tenant + "/v2.0"},
		{"v1.0 at sts.windows.net", "/sts/" + tenant, e.URL + "/sts/" + tenant + "/"},
		{"v1.0 at login.microsoftonline.com", "/" + tenant, e.URL + "/sts/" + tenant + "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, e.URL+tt.path+"/.well-known/openid-configuration", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = resp.Body.Close() }()
			var doc struct{ Issuer string }
			if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantIssuer, doc.Issuer); diff != "" {
				t.Errorf("issuer (-want +got):\n%s", diff)
			}
		})
	}
	if diff := cmp.Diff(map[string]string{
		"https://login.microsoftonline.com": e.URL, "https://sts.windows.net": e.URL + "/sts", "https://graph.windows.net": e.URL + "/graph",
	}, e.Hosts()); diff != "" {
		t.Errorf("Hosts (-want +got):\n%s", diff)
	}
}

// TestEntraTokensAreVerifiedByGoOIDC: each token verifies at its own issuer with its audience,
// and carries the claims Entra ID puts in it.
func TestEntraTokensAreVerifiedByGoOIDC(t *testing.T) {
	e := oidctest.NewEntra(t, tenant)
	ctx := oidc.ClientContext(t.Context(), &http.Client{Transport: &http.Transport{TLSClientConfig: testpki.ClientConfig(t, e.CAPEM)}})
	u := oidctest.EntraUser{OID: "oid-1", UPN: "alice@example.com", Name: "Alice", Groups: []string{"g-1"}}
	tests := []struct {
		name, issuer, audience string
		claims                 map[string]any
		want                   map[string]any
	}{
		{
			name: "v2.0 ID token", issuer: e.V2Issuer(), audience: "client",
			claims: e.V2IDToken(u, "client", time.Hour),
			want:   map[string]any{"ver": "2.0", "tid": tenant, "oid": "oid-1", "preferred_username": "alice@example.com", "groups": []any{"g-1"}},
		},
		{
			name: "v1.0 access token", issuer: e.V1Issuer(), audience: "api://app",
			claims: e.V1AccessToken(u, "api://app", "client", time.Hour),
			want:   map[string]any{"ver": "1.0", "tid": tenant, "oid": "oid-1", "upn": "alice@example.com", "unique_name": "alice@example.com", "groups": []any{"g-1"}},
		},
		{
			name: "v2.0 overage", issuer: e.V2Issuer(), audience: "client",
			claims: e.Overage(e.V2IDToken(u, "client", time.Hour)),
			want: map[string]any{"ver": "2.0", "tid": tenant, "oid": "oid-1", "preferred_username": "alice@example.com", "groups": nil,
				"_claim_names": map[string]any{"groups": "src1"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := oidc.NewProvider(ctx, tt.issuer)
			if err != nil {
				t.Fatalf("discover %s: %v", tt.issuer, err)
			}
			tok, err := p.VerifierContext(ctx, &oidc.Config{ClientID: tt.audience}).Verify(ctx, e.Sign(t, tt.claims))
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			var all map[string]any
			if err := tok.Claims(&all); err != nil {
				t.Fatal(err)
			}
			got := map[string]any{}
			for k := range tt.want {
				got[k] = all[k]
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("claims (-want +got):\n%s", diff)
			}
		})
	}
}
