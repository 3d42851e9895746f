package setup_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aksoidc/aksoidc/pkg/setup"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// hostileArgs are values a comma-splitting writer, a YAML 1.1 reader or a
// careless emitter would change; each must reach kubectl as it was given.
var hostileArgs = []string{
	"get-token",
	"--issuer-url=https://dex.example/x,--browser-command=/bin/sh -c id",
	"--client-id=a,b,c",
	`--auth-request-extra-param=claims={"id_token":{"groups":null}}`,
	`--auth-request-extra-param=q='"\`,
	"--extra-scope=grüppe ünïcödé 日本語 🙂",
	"--browser-command=-x",
	"-", "--", "---", "...", "- x", ": x", "? x", "#comment", "&anchor", "*alias", "!tag", "%YAML", "@at", "`tick`",
	"on", "off", "y", "n", "yes", "no", "true", "null", "~", "", " ", "123", "0x1f", "1e3", "0o17", ".inf", "2001-01-01",
	"{a: b}", "[a, b]", "a: b", "a #b", "a\nb", "a\r\nb", "\n", "trailing \n", " leading and trailing ", "tab\there",
	"esc\x1b[2Jx", "del\x7f", "bell\a", "nel\u0085", "ls\u2028ps\u2029", "bom\ufeff", "rlo\u202e", "\\backslash\\",
	strings.Repeat("long,", 400),
}

func execOf(t *testing.T, cfg *clientcmdapi.Config, user string) *clientcmdapi.ExecConfig {
	t.Helper()
	u := cfg.AuthInfos[user]
	if u == nil || u.Exec == nil {
		t.Fatalf("user %q has no exec entry: %+v", user, u)
	}
	return u.Exec
}

// exactExec is what kubectl reads of the exec entry.
func exactExec(command string, args []string) *clientcmdapi.ExecConfig {
	return &clientcmdapi.ExecConfig{Command: command, Args: args, APIVersion: "client.authentication.k8s.io/v1",
		ProvideClusterInfo: true, InteractiveMode: clientcmdapi.IfAvailableExecInteractiveMode}
}

func TestWriteExecArgsExactly(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		command string
		args    []string
	}{
		{"hostile args", "/usr/local/bin/kubectl-aksoidc", hostileArgs},
		{"command with spaces and quotes", `/Users/Jane Doe/bin/kubectl "aksoidc"`, []string{"get-token"}},
		{"no args", "kubectl-aksoidc", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "config")
			k := setup.Kubeconfig{Path: path, Name: "dev", Server: "https://127.0.0.1:8443", CAData: []byte("pem"),
				Command: tc.command, Args: tc.args}
			if _, err := setup.Write(k); err != nil {
				t.Fatal(err)
			}
			cfg, err := clientcmd.LoadFromFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(exactExec(tc.command, tc.args), execOf(t, cfg, "dev"), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("exec entry (-written +read back):\n%s", diff)
			}
		})
	}
}

const otherEntries = `# my clusters
apiVersion: v1
kind: Config
preferences:
  colors: true
clusters:
- name: prod
  cluster:
    server: https://prod.example:6443
    certificate-authority-data: cHJvZC1jYQ==
    extensions:
    - name: ext
      extension: {a: b}
- name: dev
  cluster:
    server: https://old.example
    insecure-skip-tls-verify: true
users:
- name: admin
  user:
    token: keep-me
- name: dev
  user:
    token: stale-token
    client-certificate-data: c3RhbGU=
contexts:
- name: prod
  context: {cluster: prod, user: admin, namespace: kube-system}
- name: dev
  context:
    cluster: old
    user: old
    namespace: team-a
current-context: prod
extensions:
- name: global
  extension: {x: "y"}
`

// TestWriteKeepsOtherEntries: setup owns the entries of its name, and only
// those: everything else kubectl reads from the file is as it was.
func TestWriteKeepsOtherEntries(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(path, []byte(otherEntries), 0o640); err != nil {
		t.Fatal(err)
	}
	before, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	files, err := setup.Write(setup.Kubeconfig{Path: path, Name: "dev", Server: "https://127.0.0.1:8443",
		CAData: []byte("new-ca"), Command: "/bin/kubectl-aksoidc", Args: []string{"get-token", "--client-id=a,b"}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{path}, files); diff != "" {
		t.Errorf("files written (-want +got):\n%s", diff)
	}
	after, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := before.DeepCopy()
	want.Clusters["dev"] = &clientcmdapi.Cluster{LocationOfOrigin: path, Server: "https://127.0.0.1:8443",
		CertificateAuthorityData: []byte("new-ca")}
	want.AuthInfos["dev"] = &clientcmdapi.AuthInfo{LocationOfOrigin: path,
		Exec: exactExec("/bin/kubectl-aksoidc", []string{"get-token", "--client-id=a,b"})}
	want.Contexts["dev"].Cluster, want.Contexts["dev"].AuthInfo = "dev", "dev"
	if diff := cmp.Diff(want, after, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("kubeconfig (-want +got):\n%s", diff)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want the file's own 0640", fi.Mode().Perm())
	}
	if b, _ := os.ReadFile(path); !strings.HasPrefix(string(b), "# my clusters\n") {
		t.Errorf("the file's comment is gone:\n%s", b)
	}
}
