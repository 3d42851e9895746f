package main

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"

	"github.com/aksoidc/aksoidc/pkg/proxy"
	"github.com/aksoidc/aksoidc/pkg/proxy/authn"
	"github.com/aksoidc/aksoidc/pkg/wellknown"
)

// twoIssuers is an AuthenticationConfiguration whose second issuer reads other claims than the
// first.
const twoIssuers = `apiVersion: apiserver.config.k8s.io/v1
kind: AuthenticationConfiguration
jwt:
- issuer: {url: "https://dex.example.com/dex", audiences: [kubectl]}
  claimMappings:
    username: {claim: email, prefix: ""}
    groups: {claim: groups, prefix: ""}
- issuer: {url: "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000001/v2.0", audiences: [entra-app]}
  claimValidationRules:
  - {expression: "!has(claims._claim_names)", message: "groups overage"}
  claimMappings:
    username: {expression: "'aks:' + claims.oid"}
    groups: {claim: groups, prefix: "aks:"}
`

// TestDiscoveryScopesFollowTheConfiguration: unless --discovery-extra-scopes is given, the
// document asks for the scopes behind the claims the issuer it names is configured to read.
func TestDiscoveryScopesFollowTheConfiguration(t *testing.T) {
	t.Parallel()
	dex := []string{"--oidc-issuer-url=https://dex.example.com/dex", "--oidc-client-id=kubectl"}
	entra := "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000001/v2.0"
	cases := []struct {
		name string
		args []string
		want wellknown.Document
	}{
		{name: "flags: email and groups", args: append(dex, "--oidc-username-claim=email", "--oidc-groups-claim=groups"),
			want: wellknown.Document{IssuerURL: "https://dex.example.com/dex", ClientID: "kubectl",
				ExtraScopes: []string{"email", "groups"}, Claims: []string{"email", "groups"}}},
		{name: "flags: sub needs no scope", args: dex,
			want: wellknown.Document{IssuerURL: "https://dex.example.com/dex", ClientID: "kubectl", Claims: []string{"sub"}}},
		{name: "scopes given override", args: append(dex, "--oidc-username-claim=email", "--discovery-extra-scopes=openid,email,profile"),
			want: wellknown.Document{IssuerURL: "https://dex.example.com/dex", ClientID: "kubectl",
				ExtraScopes: []string{"openid", "email", "profile"}, Claims: []string{"email"}}},
		{name: "scopes given as nothing publish none", args: append(dex, "--oidc-username-claim=email", "--discovery-extra-scopes="),
			want: wellknown.Document{IssuerURL: "https://dex.example.com/dex", ClientID: "kubectl", Claims: []string{"email"}}},
		{name: "file: the first issuer", args: []string{"--authentication-config=" + configFile(t, twoIssuers)},
			want: wellknown.Document{IssuerURL: "https://dex.example.com/dex", ClientID: "kubectl",
				ExtraScopes: []string{"email", "groups"}, Claims: []string{"email", "groups"}}},
		{name: "file: the issuer --discovery-issuer-url names", args: []string{"--authentication-config=" + configFile(t, twoIssuers),
			"--discovery-issuer-url=" + entra, "--discovery-client-id=entra-app"},
			want: wellknown.Document{IssuerURL: entra, ClientID: "entra-app",
				ExtraScopes: []string{"profile"}, Claims: []string{"_claim_names", "groups", "oid"}}},
		{name: "file: an issuer it does not configure", args: []string{"--authentication-config=" + configFile(t, twoIssuers),
			"--discovery-issuer-url=https://other.example.com"},
			want: wellknown.Document{IssuerURL: "https://other.example.com", ClientID: "kubectl"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tc.want, discoveryDocument(t, tc.args)); diff != "" {
				t.Errorf("discovery document (-want +got):\n%s", diff)
			}
		})
	}
}

func configFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "authn.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// discoveryDocument is the document a proxy started with args serves.
func discoveryDocument(t *testing.T, args []string) wellknown.Document {
	t.Helper()
	var o options
	o.addFlags(pflag.NewFlagSet("aksoidc-proxy", pflag.ContinueOnError))
	if err := o.fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	var src authn.Source
	var err error
	if o.authenticationConfig != "" {
		src, _, err = authn.LoadFile(o.authenticationConfig)
	} else {
		src, err = authn.FromFlags(o.oidcFlags())
	}
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := o.discoveryConfig(src)
	if err != nil {
		t.Fatal(err)
	}
	h, err := proxy.NewDiscovery(cfg, func() authn.Source { return src }, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, wellknown.Path, nil))
	var doc wellknown.Document
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatalf("body %q: %v", rec.Body, err)
	}
	return doc
}
