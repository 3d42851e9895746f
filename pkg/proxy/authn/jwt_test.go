package authn

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aksoidc/aksoidc/test/oidctest"
)

// TestReloadReusesOnlyUnchangedIssuers: an issuer keeps its loaded authenticator only when its
// whole entry is the same; any change (CA included) means new keys to load first.
func TestReloadReusesOnlyUnchangedIssuers(t *testing.T) {
	issA, issB, issC := oidctest.New(t), oidctest.New(t), oidctest.New(t)
	entry := func(iss *oidctest.Issuer, prefix string) string {
		return iss.JWTAuthenticator([]string{"kubernetes"}, "  claimMappings:\n    username:\n      claim: sub\n      prefix: \""+prefix+"\"\n")
	}
	parse := func(entries ...string) Source {
		t.Helper()
		src, err := Parse([]byte(oidctest.AuthenticationConfiguration(entries...)))
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		return src
	}
	indented := func(pem []byte) string { return strings.ReplaceAll(strings.TrimSpace(string(pem)), "\n", "\n        ") }
	otherCA := strings.Replace(entry(issA, "a:"), indented(issA.CAPEM), indented(issB.CAPEM), 1)
	tests := []struct {
		name        string
		src         Source
		wantKept    []string
		wantCreated []string
		wantRetired []string
	}{
		{"same file", parse(entry(issA, "a:"), entry(issB, "b:")), []string{issA.URL, issB.URL}, nil, nil},
		{"B removed", parse(entry(issA, "a:")), []string{issA.URL}, nil, []string{issB.URL}},
		{"C added", parse(entry(issA, "a:"), entry(issB, "b:"), entry(issC, "c:")), []string{issA.URL, issB.URL}, []string{issC.URL}, nil},
		{"A's prefix changed", parse(entry(issA, "x:"), entry(issB, "b:")), []string{issB.URL}, []string{issA.URL}, []string{issA.URL}},
		{"A's CA changed", parse(otherCA, entry(issB, "b:")), []string{issB.URL}, []string{issA.URL}, []string{issA.URL}},
	}
	old, err := newJWTSet(t.Context(), parse(entry(issA, "a:"), entry(issB, "b:")))
	if err != nil {
		t.Fatalf("newJWTSet: %v", err)
	}
	t.Cleanup(old.cancel)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, created, err := buildJWTSet(t.Context(), tt.src, old)
			if err != nil {
				t.Fatalf("buildJWTSet: %v", err)
			}
			defer cancelAll(created)
			var kept []*issuer
			for _, iss := range set.issuers {
				if slices.Contains(old.issuers, iss) {
					kept = append(kept, iss)
				}
			}
			got := [][]string{urls(kept), urls(created), urls(old.without(set))}
			want := [][]string{tt.wantKept, tt.wantCreated, tt.wantRetired}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("kept, created, retired (-want +got):\n%s", diff)
			}
		})
	}
}

func urls(issuers []*issuer) []string {
	var out []string
	for _, iss := range issuers {
		out = append(out, iss.check.url)
	}
	return out
}
