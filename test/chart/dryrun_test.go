package chart

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/aksoidc/aksoidc/test/tooldir"
)

// valuesFiles returns the chart's CI values files, the ones
// hack/chart-check.sh validates offline.
func valuesFiles(t *testing.T) []string {
	t.Helper()
	root, err := tooldir.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(root, "charts", "aksoidc-proxy", "ci", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no values files in charts/aksoidc-proxy/ci (%v)", err)
	}
	return files
}

// TestChart starts one kube-apiserver for all its subtests.
func TestChart(t *testing.T) {
	t.Parallel()
	tooldir.Path(t, "helm", "helm") // skip (or fail in CI) before starting anything
	c := startCluster(t)
	t.Run("dry-run", func(t *testing.T) { testDryRun(t, c) })
	t.Run("rbac", func(t *testing.T) { testRBAC(t, c) })
	t.Run("notes", func(t *testing.T) { testNotes(t, c) })
	t.Run("Go runtime env", testGoRuntimeEnv)
	t.Run("autoscaling upgrade", func(t *testing.T) { testAutoscalingUpgrade(t, c) })
}

// testDryRun applies every rendering (default values and each ci file) with
// server-side dry-run: the API server must accept every object.
func testDryRun(t *testing.T, c *cluster) {
	cases := map[string][]string{"default": nil}
	for _, f := range valuesFiles(t) {
		cases[strings.TrimSuffix(filepath.Base(f), ".yaml")] = []string{"-f", f}
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ns := "dry-run-" + strings.TrimSuffix(name, "-values")
			objs := render(t, "aksoidc-proxy", ns, args...)
			c.ensureNamespaces(t, objs, ns)
			kinds := map[string]bool{}
			for _, obj := range objs {
				kinds[obj.GetKind()] = true
				if err := c.apply(t.Context(), obj, true); err != nil {
					t.Errorf("the API server refused %s %s: %v", obj.GetKind(), obj.GetName(), err)
				}
			}
			for _, k := range []string{"Deployment", "Service", "ServiceAccount", "ClusterRole", "ClusterRoleBinding"} {
				if !kinds[k] {
					t.Errorf("rendering has no %s; kinds: %v", k, kinds)
				}
			}
		})
	}
}
