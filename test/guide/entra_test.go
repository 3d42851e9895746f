package guide

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	authnv1 "k8s.io/api/authentication/v1"
	"sigs.k8s.io/yaml"

	"github.com/aksoidc/aksoidc/test/charttest"
	"github.com/aksoidc/aksoidc/test/oidctest"
	"github.com/aksoidc/aksoidc/test/poll"
)

// alice is the Entra ID user of the token set, in two security groups.
var alice = oidctest.EntraUser{
	OID: "3c0f4d9e-8a7b-4c21-9e5d-6f1a2b3c4d5e", UPN: "alice@example.com", Name: "Alice",
	Groups: []string{"00000000-0000-0000-0000-000000000000", "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"},
}

// entraCase is one token of the set and what the guide says the proxy makes of it.
type entraCase struct {
	name   string
	claims func(e *oidctest.Entra) map[string]any
	// want is the identity at the API server; with a refusal, nil.
	want *authnv1.UserInfo
	// reason and errorHas are the refusal's log fields.
	reason, errorHas string
}

// testEntra runs the Entra-shaped token set through the proxy installed with the guide's Entra
// values (section 6) and through the one of the chart README's quick install.
func testEntra(t *testing.T, g guide, c *charttest.Cluster, bin string) {
	e := oidctest.NewEntra(t, tenantID)
	hosts := rewriter{}
	for _, from := range slices.Sorted(maps.Keys(e.Hosts())) {
		hosts = append(hosts, rewrite{from, e.Hosts()[from]})
	}
	rw := append(append(rewriter{}, placeholders...), hosts...)
	rw.log(t, "Entra ID configurations")
	v2 := func(e *oidctest.Entra) map[string]any { return e.V2IDToken(alice, clientID, time.Hour) }
	groups := []string{"oidc:" + alice.Groups[0], "oidc:" + alice.Groups[1], "system:authenticated"}
	overage := "the token has no groups claim but _claim_names: Entra ID groups overage (more than 200 groups)"
	refusedByTheV2Issuer := entraCase{
		name: "v1.0 access token (sts.windows.net issuer, api:// audience, upn)", reason: "invalid_token", errorHas: "no configured issuer accepts the token",
		claims: func(e *oidctest.Entra) map[string]any {
			return e.V1AccessToken(alice, "api://kubectl-aksoidc", clientID, time.Hour)
		},
	}
	t.Run("section 6", func(t *testing.T) {
		t.Parallel()
		install := parseHelmInstall(t, g.get(t, "install"), nil)
		p := c.RunProxy(t, bin, "entra", charttest.ProxyOptions{
			ValuesFiles: filesOf(writeBlocks(t, rw, installValues(t, g, install, "proxy-entra", "expose-lb")...)),
			Env:         []string{"SSL_CERT_FILE=" + e.CAFile},
		})
		runEntraCases(t, e, p, []entraCase{
			{
				name: "v2.0 ID token", claims: v2,
				want: &authnv1.UserInfo{Username: "oidc:" + alice.OID, UID: alice.OID, Groups: groups, Extra: map[string]authnv1.ExtraValue{
					"example.com/upn": {alice.UPN}, "aksoidc.io/client-ip": {"127.0.0.1"},
				}},
			},
			{
				name: "another tenant", reason: "invalid_token", errorHas: "tid",
				claims: func(e *oidctest.Entra) map[string]any {
					c := v2(e)
					c["tid"] = "f00dcafe-0000-4000-8000-000000000000"
					return c
				},
			},
			{
				name: "groups overage", reason: "invalid_token", errorHas: overage,
				claims: func(e *oidctest.Entra) map[string]any { return e.Overage(v2(e)) },
			},
			refusedByTheV2Issuer,
		})
		testRefusalLog(t, g, e, p)
	})
	t.Run("v1 entry", func(t *testing.T) {
		t.Parallel()
		p := c.RunProxy(t, bin, "entra-v1", charttest.ProxyOptions{
			ValuesFiles: filesOf(writeBlocks(t, rw, g.get(t, "expose-lb"))),
			Values:      withV1Entry(t, g, rw), Env: []string{"SSL_CERT_FILE=" + e.CAFile},
		})
		v1 := func(e *oidctest.Entra) map[string]any {
			return e.V1AccessToken(alice, "api://kubectl-aksoidc", clientID, time.Hour)
		}
		runEntraCases(t, e, p, []entraCase{
			{
				name: "v1.0 access token", claims: v1,
				want: &authnv1.UserInfo{Username: "oidc:" + alice.OID, UID: alice.OID, Groups: groups, Extra: map[string]authnv1.ExtraValue{"aksoidc.io/client-ip": {"127.0.0.1"}}},
			},
			{
				name: "v2.0 ID token", claims: v2,
				want: &authnv1.UserInfo{Username: "oidc:" + alice.OID, UID: alice.OID, Groups: groups, Extra: map[string]authnv1.ExtraValue{
					"example.com/upn": {alice.UPN}, "aksoidc.io/client-ip": {"127.0.0.1"},
				}},
			},
			{
				name: "v1.0 groups overage", reason: "invalid_token", errorHas: overage,
				claims: func(e *oidctest.Entra) map[string]any { return e.Overage(v1(e)) },
			},
		})
	})
	t.Run("chart README", func(t *testing.T) {
		t.Parallel()
		readme := parseHelmInstall(t, g.get(t, "readme-install"), placeholderEnv)
		var sets []string
		for _, s := range readme.sets {
			sets = append(sets, hosts.apply(s))
		}
		t.Logf("chart README: helm --set %s", strings.Join(sets, " "))
		p := c.RunProxy(t, bin, "readme", charttest.ProxyOptions{Set: sets, Env: []string{"SSL_CERT_FILE=" + e.CAFile}})
		runEntraCases(t, e, p, []entraCase{
			{
				name: "v2.0 ID token", claims: v2,
				want: &authnv1.UserInfo{Username: "oidc:" + alice.OID, Groups: groups, Extra: map[string]authnv1.ExtraValue{"aksoidc.io/client-ip": {"127.0.0.1"}}},
			},
			{
				name: "groups overage", reason: "distributed_claims",
				claims: func(e *oidctest.Entra) map[string]any { return e.Overage(v2(e)) },
			},
			refusedByTheV2Issuer,
		})
	})
}

// withV1Entry returns section 6's Entra values with 4B's v1 entry added to their jwt list, as
// the guide says to.
func withV1Entry(t *testing.T, g guide, rw rewriter) map[string]any {
	t.Helper()
	var values map[string]any
	var v1 struct {
		JWT []any `json:"jwt"`
	}
	b, v1b := g.get(t, "proxy-entra"), g.get(t, "entra-v1")
	if err := yaml.Unmarshal([]byte(rw.apply(b.text)), &values); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	authn, _ := values["authenticationConfig"].(map[string]any)
	jwt, _ := authn["jwt"].([]any)
	if len(jwt) == 0 {
		t.Fatalf("%s: no authenticationConfig.jwt", b)
	}
	if err := yaml.UnmarshalStrict([]byte(rw.apply(v1b.text)), &v1); err != nil || len(v1.JWT) != 1 {
		t.Fatalf("%s: want a jwt list of one entry (%v)", v1b, err)
	}
	authn["jwt"] = append(jwt, v1.JWT...)
	return values
}

func runEntraCases(t *testing.T, e *oidctest.Entra, p *charttest.Proxy, cases []entraCase) {
	t.Helper()
	for _, tc := range cases {
		before := len(refusals(p))
		status, got := p.SelfSubjectReview(t, e.Sign(t, tc.claims(e)))
		if tc.want != nil {
			if diff := cmp.Diff(*tc.want, got); diff != "" || status != http.StatusCreated {
				t.Errorf("%s: HTTP %d, identity at the API server (-want +got):\n%s\nproxy log:\n%s", tc.name, status, diff, p.Log())
			}
			t.Logf("%s: accepted as %s, groups %v, extras %v", tc.name, got.Username, got.Groups, got.Extra)
			continue
		}
		if status != http.StatusUnauthorized {
			t.Errorf("%s: HTTP %d, want 401", tc.name, status)
			continue
		}
		var r refusal
		poll.Until(t, 10*time.Second, func() bool {
			all := refusals(p)
			if len(all) > before {
				r = all[before]
			}
			return len(all) > before
		})
		if r.Reason != tc.reason || !strings.Contains(r.Error, tc.errorHas) {
			t.Errorf("%s: refused with reason %q, error %q; want reason %q, an error containing %q", tc.name, r.Reason, r.Error, tc.reason, tc.errorHas)
		}
		t.Logf("%s: 401, reason %s: %s", tc.name, r.Reason, r.Error)
	}
}

// refusal is a proxy log line "authentication failed".
type refusal struct {
	Level, Msg, Reason, Error, ClientIP, Path string
}

func refusals(p *charttest.Proxy) []refusal {
	var out []refusal
	for line := range strings.Lines(p.Log()) {
		var r refusal
		if json.Unmarshal([]byte(line), &r) == nil && r.Msg == "authentication failed" {
			out = append(out, r)
		}
	}
	return out
}

// testRefusalLog sends what section 9's sample log line describes (a token for another
// audience, listing pods in team-a) and compares the proxy's line with the sample.
func testRefusalLog(t *testing.T, g guide, e *oidctest.Entra, p *charttest.Proxy) {
	t.Helper()
	b := g.get(t, "refusal-log")
	var sample map[string]string
	if err := json.Unmarshal([]byte(b.text), &sample); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	claims := e.V2IDToken(alice, "kubectl", time.Hour)
	before := len(refusals(p))
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, p.URL+sample["path"], nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.Sign(t, claims))
	resp, err := p.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	var got map[string]string
	poll.Until(t, 10*time.Second, func() bool { return len(refusals(p)) > before })
	for line := range strings.Lines(p.Log()) {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "authentication failed" {
			got = map[string]string{}
			for k := range sample {
				got[k], _ = m[k].(string)
			}
		}
	}
	rw := rewriter{{"kubectl-aksoidc", clientID}, {"198.51.100.7", "127.0.0.1"}}
	want := map[string]string{}
	for k, v := range sample {
		want[k] = rw.apply(v)
	}
	if diff := cmp.Diff(want, got); diff != "" || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("%s: HTTP %d; the proxy's log line against the guide's (-guide +got):\n%s", b, resp.StatusCode, diff)
	}
}
