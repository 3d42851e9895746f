package chart

import (
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	authnv1 "k8s.io/api/authentication/v1"

	"github.com/aksoidc/aksoidc/test/charttest"
	"github.com/aksoidc/aksoidc/test/kubetest"
	"github.com/aksoidc/aksoidc/test/oidctest"
	"github.com/aksoidc/aksoidc/test/tooldir"
)

// TestChartRunsTheProxy runs the real proxy the way the chart's Deployment
// would: with the rendered args, the rendered ConfigMap and a TLS Secret laid
// out at the Deployment's mount paths, and the chart's ServiceAccount, bound
// to nothing but the chart's ClusterRole, as its identity at the API server.
// A user's request through it must reach the API server as that user, with
// every extra the proxy adds.
func TestChartRunsTheProxy(t *testing.T) {
	t.Parallel()
	tooldir.Path(t, "helm", "helm") // skip (or fail in CI) before starting anything
	c := startCluster(t)
	bin := charttest.BuildProxy(t)
	t.Run("flags", func(t *testing.T) { testFlagsParse(t, bin) })
	issuer := oidctest.New(t)
	oidcFlags := map[string]any{
		"issuerURL": issuer.URL, "clientID": "kubectl", "caBundle": string(issuer.CAPEM),
		"usernamePrefix": "oidc:", "groupsClaim": "groups", "groupsPrefix": "oidc:",
		"requiredClaims": map[string]string{"hd": "example.com"},
	}
	// alice's token carries a jti, so kube-apiserver's authenticator adds the
	// credential-id extra the proxy passes on.
	aliceToken := func(t *testing.T, _ *cluster, _ string) string {
		claims := issuer.Claims("alice", "kubectl", time.Hour)
		claims["groups"] = []string{"devs"}
		claims["hd"] = "example.com"
		claims["jti"] = "token-1"
		return issuer.Sign(t, claims)
	}
	alice := authnv1.UserInfo{
		Username: "oidc:alice",
		Groups:   []string{"oidc:devs", "system:authenticated"},
		Extra: map[string]authnv1.ExtraValue{
			"aksoidc.io/client-ip":                       {"127.0.0.1"},
			"authentication.kubernetes.io/credential-id": {"JTI=token-1"},
		},
	}
	tests := []struct {
		name   string
		values map[string]any
		token  func(t *testing.T, c *cluster, ns string) string
		want   func(ns string) authnv1.UserInfo
		// The service account's own extras (credential-id, ...) and UID are
		// the API server's business.
		ignoreExtraAndUID bool
	}{
		{
			name:   "oidc flags",
			values: map[string]any{"oidc": oidcFlags},
			token:  aliceToken,
			want:   func(string) authnv1.UserInfo { return alice },
		},
		{
			name: "authenticationConfig",
			values: map[string]any{"authenticationConfig": map[string]any{"jwt": []any{map[string]any{
				"issuer": map[string]any{"url": issuer.URL, "audiences": []string{"kubectl"}, "certificateAuthority": string(issuer.CAPEM)},
				"claimMappings": map[string]any{
					"username": map[string]any{"claim": "sub", "prefix": "oidc:"},
					"groups":   map[string]any{"claim": "groups", "prefix": "oidc:"},
					"extra":    []any{map[string]any{"key": "example.com/team", "valueExpression": "'blue'"}},
				},
				"claimValidationRules": []any{map[string]any{"claim": "hd", "requiredValue": "example.com"}},
			}}}},
			token: aliceToken,
			want: func(string) authnv1.UserInfo {
				u := *alice.DeepCopy()
				u.Extra["example.com/team"] = authnv1.ExtraValue{"blue"}
				return u
			},
		},
		{
			// A service-account token no issuer accepts goes through as it is,
			// once the proxy's TokenReview (allowed by the chart) accepts it.
			name:   "token passthrough",
			values: map[string]any{"oidc": oidcFlags, "tokenPassthrough": map[string]any{"enabled": true}},
			token: func(t *testing.T, c *cluster, ns string) string {
				return kubetest.ServiceAccountToken(t, c.kube, ns, "ci")
			},
			want: func(ns string) authnv1.UserInfo {
				return authnv1.UserInfo{
					Username: "system:serviceaccount:" + ns + ":ci",
					Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
				}
			},
			ignoreExtraAndUID: true,
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ns := fmt.Sprintf("proxy-%d", i)
			p := c.RunProxy(t, bin, ns, charttest.ProxyOptions{Values: tt.values})
			status, got := p.SelfSubjectReview(t, tt.token(t, c, ns))
			if status != http.StatusCreated {
				t.Fatalf("SelfSubjectReview through the proxy: HTTP %d\nproxy log:\n%s", status, p.Log())
			}
			if tt.ignoreExtraAndUID {
				got.Extra, got.UID = nil, ""
			}
			if diff := cmp.Diff(tt.want(ns), got); diff != "" {
				t.Errorf("identity at the API server through the proxy (-want +got):\n%s\nproxy log:\n%s", diff, p.Log())
			}
		})
	}
}

// testFlagsParse gives the proxy the flags of every CI rendering (together
// they set every flag the chart knows): each must exist and its value parse.
// --version makes the proxy exit right after parsing.
func testFlagsParse(t *testing.T, bin string) {
	for _, f := range valuesFiles(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			var dep appsv1.Deployment
			fromUnstructured(t, find(t, render(t, "flags", "flags", "-f", f), "Deployment", ""), &dep)
			args := append(dep.Spec.Template.Spec.Containers[0].Args, "--version")
			out, err := exec.CommandContext(t.Context(), bin, args...).CombinedOutput()
			if err != nil {
				t.Errorf("aksoidc-proxy refused the chart's flags %q: %v\n%s", args, err, out)
			}
		})
	}
}
