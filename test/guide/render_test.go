package guide

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/aksoidc/aksoidc/test/charttest"
)

// helmInstall is a `helm install` or `helm upgrade --install` line of the guide.
type helmInstall struct {
	release, namespace string
	files              []string // -f, in order
	sets               []string // --set, in order
}

// parseHelmInstall finds the helm install line of a commands block; env expands $NAME.
func parseHelmInstall(t testing.TB, b block, env map[string]string) helmInstall {
	t.Helper()
	for _, l := range lines(b.text) {
		f := strings.Fields(os.Expand(l, func(k string) string { return env[k] }))
		if len(f) < 3 || f[0] != "helm" || (f[1] != "install" && f[1] != "upgrade") {
			continue
		}
		var h helmInstall
		var positional []string
		for i := 1; i < len(f); i++ {
			switch f[i] {
			case "--namespace", "-n":
				i++
				h.namespace = f[i]
			case "-f", "--values":
				i++
				h.files = append(h.files, f[i])
			case "--set":
				i++
				h.sets = append(h.sets, f[i])
			case "--install", "--create-namespace", "--wait":
			default:
				if strings.HasPrefix(f[i], "-") {
					t.Fatalf("%s: helm flag %s: the test does not know it", b, f[i])
				}
				positional = append(positional, f[i])
			}
		}
		if len(positional) != 3 || !strings.HasSuffix(positional[2], "charts/aksoidc-proxy") {
			t.Fatalf("%s: %q: want helm install RELEASE .../charts/aksoidc-proxy", b, l)
		}
		h.release = positional[1]
		return h
	}
	t.Fatalf("%s: no helm install line", b)
	return helmInstall{}
}

// valuesChoices returns, for a values file name of the guide's install command, every way the
// guide fills it: each block marked file=<name>, and each variant (over=<block>) layered on
// its base.
func (g guide) valuesChoices(t testing.TB, file string) [][]block {
	t.Helper()
	var choices [][]block
	for _, b := range g.inOrder() {
		if b.kind == kindValues && b.attrs["file"] == file {
			choices = append(choices, []block{b})
			for _, v := range g.inOrder() {
				if v.kind == kindValues && v.attrs["over"] == b.name {
					choices = append(choices, []block{b, v})
				}
			}
		}
	}
	if len(choices) == 0 {
		t.Fatalf("no values block marked file=%s", file)
	}
	return choices
}

// combinations returns the cross product of the choices for each file of h.
func (g guide) combinations(t testing.TB, h helmInstall) [][]block {
	t.Helper()
	combos := [][]block{nil}
	for _, f := range h.files {
		var next [][]block
		for _, c := range combos {
			for _, choice := range g.valuesChoices(t, f) {
				next = append(next, append(append([]block(nil), c...), choice...))
			}
		}
		combos = next
	}
	return combos
}

// writeBlocks writes each block's text, rewritten, to a values file and returns helm's -f args.
func writeBlocks(t testing.TB, rw rewriter, blocks ...block) []string {
	t.Helper()
	var args []string
	dir := t.TempDir()
	for i, b := range blocks {
		p := filepath.Join(dir, fmt.Sprintf("%d-%s.yaml", i, b.name))
		text := rw.apply(b.text)
		var check map[string]any
		if err := yaml.UnmarshalStrict([]byte(text), &check); err != nil {
			t.Fatalf("%s: not YAML: %v", b, err)
		}
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "-f", p)
	}
	return args
}

// testRenderings renders the chart as the guide's install command does, with every values
// block the guide offers for each file, and as the chart README's commands do; each rendering
// must pass kubeconform -strict and the API server's server-side dry run.
func testRenderings(t *testing.T, g guide, c *charttest.Cluster) {
	install := parseHelmInstall(t, g.get(t, "install"), nil)
	type rendering struct {
		name, release, namespace string
		args                     []string
	}
	var renderings []rendering
	for _, combo := range g.combinations(t, install) {
		var names []string
		for _, b := range combo {
			names = append(names, b.name)
		}
		renderings = append(renderings, rendering{strings.Join(names, "+"), install.release, install.namespace, writeBlocks(t, placeholders, combo...)})
	}
	readme := parseHelmInstall(t, g.get(t, "readme-install"), placeholderEnv)
	var sets []string
	for _, s := range readme.sets {
		sets = append(sets, "--set", s)
	}
	renderings = append(renderings,
		rendering{"readme-install", readme.release, readme.namespace, sets},
		rendering{"readme-entra", "aksoidc-proxy", "aksoidc", writeBlocks(t, placeholders, g.get(t, "readme-entra"))})
	for _, r := range renderings {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			out := charttest.Helm(t, "template", r.release, r.namespace, r.args...)
			summary := charttest.Kubeconform(t, r.name, out)
			objs, err := charttest.Decode(strings.NewReader(string(out)))
			if err != nil {
				t.Fatal(err)
			}
			dryRun(t, c, objs, r.namespace)
			t.Logf("helm template %s: %d objects; kubeconform: %s; the API server's dry run accepted them", r.name, len(objs), strings.TrimSpace(summary))
		})
	}
}

func dryRun(t *testing.T, c *charttest.Cluster, objs []*unstructured.Unstructured, ns string) {
	t.Helper()
	c.EnsureNamespaces(t, objs, ns)
	for _, obj := range objs {
		if err := c.Apply(t.Context(), obj, true); err != nil {
			t.Errorf("the API server refused %s %s: %v", obj.GetKind(), obj.GetName(), err)
		}
	}
}
