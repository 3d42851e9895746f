package setup_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aksoidc/aksoidc/pkg/setup"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"k8s.io/client-go/tools/clientcmd"
)

// FuzzKubeconfigExecArgs writes arbitrary names, servers and exec args into
// a kubeconfig holding other entries and reads the file back with client-go,
// as kubectl does: every value arrives byte for byte and nothing else
// changes. Values a kubeconfig cannot hold (invalid UTF-8, a NUL) must be
// refused with the file left as it was.
func FuzzKubeconfigExecArgs(f *testing.F) {
	f.Add("dev", "https://127.0.0.1:8443", "--client-id=a,--browser-command=sh", `claims={"id_token":null}`)
	f.Fuzz(func(t *testing.T, name, server, arg1, arg2 string) {
		path := filepath.Join(t.TempDir(), "config")
		if err := os.WriteFile(path, []byte(otherEntries), 0o600); err != nil {
			t.Fatal(err)
		}
		args := []string{"get-token", arg1, arg2}
		_, err := setup.Write(setup.Kubeconfig{Path: path, Name: name, Server: server, Command: "/bin/kubectl-aksoidc", Args: args})
		if !writable(name, server, arg1, arg2) {
			if err == nil {
				t.Fatalf("wrote name %q, server %q, args %q: want a refusal", name, server, args)
			}
			if b, _ := os.ReadFile(path); string(b) != otherEntries {
				t.Fatalf("a refused write changed the file:\n%s", b)
			}
			return
		}
		if err != nil {
			t.Fatalf("name %q, server %q, args %q: %v", name, server, args, err)
		}
		cfg, err := clientcmd.LoadFromFile(path)
		if err != nil {
			b, _ := os.ReadFile(path)
			t.Fatalf("client-go cannot load what was written: %v\n%s", err, b)
		}
		if diff := cmp.Diff(exactExec("/bin/kubectl-aksoidc", args), execOf(t, cfg, name), cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("exec entry (-written +read back):\n%s", diff)
		}
		if server != "" && (cfg.Clusters[name] == nil || cfg.Clusters[name].Server != server) {
			t.Fatalf("cluster %q = %+v, want server %q", name, cfg.Clusters[name], server)
		}
		if name != "admin" && cfg.AuthInfos["admin"].Token != "keep-me" || name != "prod" && cfg.Clusters["prod"].Server != "https://prod.example:6443" ||
			cfg.CurrentContext != "prod" {
			t.Fatalf("another entry changed: %+v", cfg)
		}
	})
}

func writable(values ...string) bool {
	for _, v := range values {
		if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
			return false
		}
	}
	return values[0] != ""
}
