package setup_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/aksoidc/aksoidc/pkg/setup"
)

// FuzzAllowPlugin: whatever the kuberc holds, AllowPlugin does not panic, and a
// file it rewrote still parses, with as many documents, and allows the plugin.
func FuzzAllowPlugin(f *testing.F) {
	f.Add(kubercHead + "credentialPluginPolicy: Allowlist\ncredentialPluginAllowlist:\n- name: x\n")
	f.Add("# c\n" + kubercHead + "credentialPluginPolicy: Allowlist\ncredentialPluginAllowlist: [{name: y}]\n---\nkind: Other\n")
	f.Fuzz(func(t *testing.T, content string) {
		path := filepath.Join(t.TempDir(), "kuberc")
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		change, err := setup.AllowPlugin(path, true, "/opt/bin/kubectl-aksoidc")
		if err != nil || change.Added == "" {
			return
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if before, after := countDocs(t, content), countDocs(t, string(b)); before != after {
			t.Fatalf("%d documents before, %d after:\n%s", before, after, b)
		}
		again, err := setup.AllowPlugin(path, true, "/opt/bin/kubectl-aksoidc")
		if err != nil || again.Added != "" {
			t.Fatalf("the rewritten kuberc does not allow the plugin (%+v, %v):\n%s", again, err, b)
		}
	})
}

func countDocs(t *testing.T, s string) int {
	t.Helper()
	dec := yaml.NewDecoder(strings.NewReader(s))
	n := 0
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			return n
		}
		n++
	}
}
