package charttest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/aksoidc/aksoidc/test/tooldir"
)

// Kubeconform validates rendered manifests offline with the pinned kubeconform -strict, against
// the schemas of the pinned Kubernetes version and those schemagen derives from CRDDir, as
// hack/chart-check.sh does, and returns its summary. The test fails if kubeconform rejects a
// manifest.
func Kubeconform(t testing.TB, name string, manifests []byte) string {
	t.Helper()
	dir := KubeconformDir(t)
	work := t.TempDir()
	crds, err := filepath.Glob(filepath.Join(CRDDir(t), "*.yaml"))
	if err != nil || len(crds) == 0 {
		t.Fatalf("no CRDs in %s (%v)", CRDDir(t), err)
	}
	schemas := filepath.Join(work, "crd-schemas")
	gen := exec.CommandContext(t.Context(), filepath.Join(dir, "schemagen"), append([]string{"-out", schemas}, crds...)...)
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("schemagen: %v\n%s", err, out)
	}
	file := filepath.Join(work, "manifests.yaml")
	if err := os.WriteFile(file, manifests, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), filepath.Join(dir, "kubeconform"), "-strict", "-summary", "-output", "text",
		"-schema-location", filepath.Join(dir, "schemas", "{{.ResourceKind}}{{.KindSuffix}}.json"),
		"-schema-location", filepath.Join(schemas, "{{.ResourceKind}}{{.KindSuffix}}.json"), file)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kubeconform rejected the manifests of %s: %v\n%s", name, err, out)
	}
	return string(out)
}

// KubeconformDir returns the cache dir holding kubeconform, schemagen and the schemas of the
// pinned Kubernetes version (hack/tools/build.sh names it after both versions). Without it the
// test is skipped, or fails in CI.
func KubeconformDir(t testing.TB) string {
	t.Helper()
	root, err := tooldir.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	versions, err := tooldir.ReadVersions(filepath.Join(root, "hack", "tools", "versions.env"))
	if err != nil {
		t.Fatal(err)
	}
	cache, err := tooldir.CacheRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(cache, "kubeconform-"+versions["KUBECONFORM_VERSION"]+"-k8s-"+versions["K8S_VERSION"])
	for _, bin := range []string{"kubeconform", "schemagen"} {
		if _, err := os.Stat(filepath.Join(dir, bin)); err != nil {
			tooldir.Missing(t, "kubeconform: %v; run `make tools` to build it", err)
		}
	}
	return dir
}
