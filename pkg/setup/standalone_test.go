package setup_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aksoidc/aksoidc/pkg/setup"
)

// TestStandaloneIsWhatWriteWritesToANewFile: the kubeconfig the proxy's onboarding page hands
// out is, byte for byte, the file setup writes when there is none, values double-quoted.
func TestStandaloneIsWhatWriteWritesToANewFile(t *testing.T) {
	t.Parallel()
	k := setup.Kubeconfig{Name: "aksoidc-proxy.example.com", Server: "https://proxy.example.com", CAData: []byte("ca"),
		Command: "kubectl-aksoidc", Args: []string{"get-token", "--issuer-url=https://issuer.example.com", "--client-id=on"}}
	got, err := k.Standalone()
	if err != nil {
		t.Fatal(err)
	}
	want := `apiVersion: v1
kind: Config
users:
  - name: "aksoidc-proxy.example.com"
    user:
      exec:
        apiVersion: client.authentication.k8s.io/v1
        command: "kubectl-aksoidc"
        args:
          - "get-token"
          - "--issuer-url=https://issuer.example.com"
          - "--client-id=on"
        interactiveMode: IfAvailable
        provideClusterInfo: true
clusters:
  - name: "aksoidc-proxy.example.com"
    cluster:
      server: "https://proxy.example.com"
      certificate-authority-data: Y2E=
contexts:
  - name: "aksoidc-proxy.example.com"
    context:
      cluster: "aksoidc-proxy.example.com"
      user: "aksoidc-proxy.example.com"
current-context: "aksoidc-proxy.example.com"
`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("standalone kubeconfig (-want +got):\n%s", diff)
	}
	k.Path = filepath.Join(t.TempDir(), "config")
	if _, err := setup.Write(k); err != nil {
		t.Fatal(err)
	}
	written, err := os.ReadFile(k.Path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(written), string(got)); diff != "" {
		t.Errorf("standalone vs written to a new file (-written +standalone):\n%s", diff)
	}
}

func TestStandaloneRefuses(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		k       setup.Kubeconfig
		wantErr string
	}{
		{"no server", setup.Kubeconfig{Name: "x", Command: "kubectl-aksoidc"}, "kubeconfig: a standalone kubeconfig needs a server"},
		{"NUL in an arg", setup.Kubeconfig{Name: "x", Server: "https://x", Command: "kubectl-aksoidc", Args: []string{"a\x00"}},
			`exec arg 1 "a\x00": holds a NUL byte, which exec cannot pass`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := tc.k.Standalone()
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("error %v, want %q", err, tc.wantErr)
			}
		})
	}
}
