package guide

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/aksoidc/aksoidc/test/charttest"
	"github.com/aksoidc/aksoidc/test/dextest"
	"github.com/aksoidc/aksoidc/test/tooldir"
)

// The Entra ID tenant and app registration the test stands in for.
const (
	tenantID = "5d2a7e0c-3f41-4b6e-9a8d-1c2b3e4f5a6b"
	clientID = "0f8e4c2a-7b19-4d53-a6e1-92c3d4b5e6f7"
)

// placeholders fills in the values the guide leaves for the reader.
var placeholders = rewriter{
	{"<tenant ID>", tenantID}, {"<tenant-id>", tenantID},
	{"<client ID>", clientID}, {"<client-id>", clientID},
}

// placeholderEnv is what `az` would have exported for the chart README's commands.
var placeholderEnv = map[string]string{"TENANT_ID": tenantID, "CLIENT_ID": clientID}

// TestGuide runs the guide on one kube-apiserver: every rendering, the Dex path from the Dex
// values to kubectl through the proxy, and the Entra-shaped token set against the guide's Entra
// configurations.
func TestGuide(t *testing.T) {
	t.Parallel()
	g := loadGuide(t)
	tooldir.Path(t, "helm", "helm") // skip (or fail in CI) before starting anything
	charttest.KubeconformDir(t)
	tooldir.Dex(t)
	b := startBuild(t)
	c := charttest.StartCluster(t)
	t.Run("renderings", func(t *testing.T) { t.Parallel(); testRenderings(t, g, c) })
	t.Run("dex", func(t *testing.T) { t.Parallel(); testDex(t, g, c, b.wait(t)) })
	t.Run("entra", func(t *testing.T) { t.Parallel(); testEntra(t, g, c, b.wait(t).proxy) })
}

// dexConfig is the config of the guide's Dex values with the test's changes: the mockCallback
// connector for GitHub (and the LDAP alternative), and the Kubernetes storage reached through
// a kubeconfig instead of a pod's service account.
func dexConfig(t *testing.T, g guide, c *charttest.Cluster) map[string]any {
	t.Helper()
	var values struct {
		Config map[string]any `json:"config"`
	}
	b := g.get(t, "dex")
	// The other values (ingress, envFrom, ...) are Dex's chart's; config is Dex's own file.
	if err := yaml.Unmarshal([]byte(b.text), &values); err != nil || values.Config == nil {
		t.Fatalf("%s: no config (%v)", b, err)
	}
	cfg := values.Config
	var ldap struct {
		Connectors []map[string]any `json:"connectors"`
	}
	if err := yaml.UnmarshalStrict([]byte(g.get(t, "ldap").text), &ldap); err != nil || len(ldap.Connectors) != 1 || ldap.Connectors[0]["type"] != "ldap" {
		t.Fatalf("%s: want a connectors list with one ldap connector (%v)", g.get(t, "ldap"), err)
	}
	storage, _ := cfg["storage"].(map[string]any)
	if storage["type"] != "kubernetes" {
		t.Fatalf("%s: storage type %v; the test knows kubernetes", b, storage["type"])
	}
	t.Logf("%s: the test swaps connectors %v for mockCallback, storage.config %v for kubeConfigFile", b, connectorTypes(cfg), storage["config"])
	storage["config"] = map[string]any{"kubeConfigFile": c.Kubeconfig}
	cfg["connectors"] = []any{map[string]any{"type": "mockCallback", "id": "mock", "name": "Mock"}}
	return cfg
}

func connectorTypes(cfg map[string]any) []any {
	var types []any
	list, _ := cfg["connectors"].([]any)
	for _, c := range list {
		m, _ := c.(map[string]any)
		types = append(types, m["type"])
	}
	return types
}

// dexSubject is the sub claim Dex gives its mock user: the base64url (unpadded) protobuf of
// the user ID (field 1) and the connector ID "mock" (field 2).
func dexSubject() string {
	b := append([]byte{0x0a, byte(len(dextest.MockUserID))}, dextest.MockUserID...)
	b = append(append(b, 0x12, byte(len("mock"))), "mock"...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// environ is the test process's environment without the keyring's session bus (the plugin
// then keeps tokens in a file under HOME), plus overrides.
func environ(overrides ...string) []string {
	drop := map[string]bool{"DBUS_SESSION_BUS_ADDRESS": true, "XDG_RUNTIME_DIR": true, "KUBECONFIG": true, "HOME": true, "PATH": true}
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !drop[name] {
			env = append(env, kv)
		}
	}
	return append(env, overrides...)
}

// pathEnv puts the pinned kubectl and the built plugin first on PATH.
func pathEnv(c *charttest.Cluster, pluginDir string) string {
	return "PATH=" + filepath.Dir(c.KubectlPath) + string(os.PathListSeparator) + pluginDir + string(os.PathListSeparator) + os.Getenv("PATH")
}

// writeBundle writes PEM CAs into one file, the developer's "system" trust store.
func writeBundle(t *testing.T, path string, pems ...[]byte) {
	t.Helper()
	var all []byte
	for _, p := range pems {
		all = append(all, p...)
	}
	if err := os.WriteFile(path, all, 0o600); err != nil {
		t.Fatal(err)
	}
}
