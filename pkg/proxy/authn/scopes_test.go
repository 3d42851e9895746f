package authn

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestNeedsOfFlags(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		flags OIDCFlags
		want  LoginNeeds
	}{
		{name: "defaults: sub needs no scope", flags: OIDCFlags{},
			want: LoginNeeds{Claims: []string{"sub"}}},
		{name: "email and Dex groups", flags: OIDCFlags{UsernameClaim: "email", GroupsClaim: "groups"},
			want: LoginNeeds{Claims: []string{"email", "groups"}, Scopes: []string{"email", "groups"}}},
		{name: "profile claims and a required claim", flags: OIDCFlags{UsernameClaim: "preferred_username", GroupsClaim: "roles",
			RequiredClaims: map[string]string{"email_verified": "true", "tenant": "t1"}},
			want: LoginNeeds{Claims: []string{"email_verified", "preferred_username", "roles", "tenant"}, Scopes: []string{"email", "profile"}}},
		{name: "Entra: groups need no scope, oid needs profile", flags: OIDCFlags{
			IssuerURL: "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000001/v2.0", UsernameClaim: "oid", GroupsClaim: "groups"},
			want: LoginNeeds{Claims: []string{"groups", "oid"}, Scopes: []string{"profile"}}},
		{name: "Entra v1 issuer", flags: OIDCFlags{IssuerURL: "https://STS.windows.net/00000000-0000-0000-0000-000000000001/", UsernameClaim: "tid", GroupsClaim: "groups"},
			want: LoginNeeds{Claims: []string{"groups", "tid"}, Scopes: []string{"profile"}}},
		{name: "oid elsewhere is no standard claim", flags: OIDCFlags{UsernameClaim: "oid"},
			want: LoginNeeds{Claims: []string{"oid"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := tc.flags
			if f.IssuerURL == "" {
				f.IssuerURL = "https://dex.example.com/dex"
			}
			f.ClientID = "kubernetes"
			if f.UsernameClaim == "" {
				f.UsernameClaim = "sub"
			}
			src, err := FromFlags(f)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, NeedsOf(src.Config.JWT[0]), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("NeedsOf (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNeedsOfAuthenticationConfiguration(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		issuer string // default https://dex.example.com/dex
		jwt    string // the one jwt entry after its issuer
		want   LoginNeeds
	}{
		{name: "claims and prefixes", jwt: `
  claimMappings:
    username: {claim: email, prefix: "oidc:"}
    groups: {claim: groups, prefix: "oidc:"}
    uid: {claim: sub}`,
			want: LoginNeeds{Claims: []string{"email", "groups", "sub"}, Scopes: []string{"email", "groups"}}},
		{name: "CEL in every place a claim is read", jwt: `
  claimValidationRules:
  - {claim: hd, requiredValue: example.com}
  - expression: "has(claims.email_verified) && claims.email_verified"
  - expression: "!has(claims._claim_names)"
  claimMappings:
    username: {expression: "'oidc:' + claims.preferred_username"}
    groups: {expression: "has(claims.groups) ? dyn(claims.groups).map(g, 'oidc:' + g) : []"}
    uid: {expression: "claims[\"oid\"]"}
    extra:
    - {key: example.com/name, valueExpression: "claims.?name.orValue('')"}
    - {key: example.com/phone, valueExpression: "claims[?'phone_number'].orValue('')"}
    - {key: example.com/country, valueExpression: "claims.address.country"}`,
			want: LoginNeeds{
				Claims: []string{"_claim_names", "address", "email_verified", "groups", "hd", "name", "oid", "phone_number", "preferred_username"},
				Scopes: []string{"address", "email", "groups", "phone", "profile"},
			}},
		{name: "a method of the claims map is no claim", jwt: `
  claimMappings:
    username: {expression: "claims.sub"}
    extra:
    - {key: example.com/keys, valueExpression: "claims.exists(k, k == 'x') ? 'y' : 'n'"}`,
			want: LoginNeeds{Claims: []string{"sub"}}},
		{name: "Entra through CEL", issuer: "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000001/v2.0", jwt: `
  claimMappings:
    username: {expression: "'aks:' + claims.oid"}
    groups: {expression: "claims.groups"}
    extra:
    - {key: example.com/upn, valueExpression: "claims.preferred_username"}`,
			want: LoginNeeds{Claims: []string{"groups", "oid", "preferred_username"}, Scopes: []string{"profile"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			issuer := tc.issuer
			if issuer == "" {
				issuer = "https://dex.example.com/dex"
			}
			src, err := Parse([]byte("apiVersion: apiserver.config.k8s.io/v1\nkind: AuthenticationConfiguration\njwt:\n" +
				"- issuer: {url: \"" + issuer + "\", audiences: [kubernetes]}" + tc.jwt + "\n"))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, NeedsOf(src.Config.JWT[0]), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("NeedsOf (-want +got):\n%s", diff)
			}
		})
	}
}
