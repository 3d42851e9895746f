package setup_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aksoidc/aksoidc/pkg/setup"
	"github.com/aksoidc/aksoidc/test/tooldir"
)

func TestKubercFile(t *testing.T) {
	home := t.TempDir()
	tests := []struct {
		name         string
		flag, env    string
		wantPath     string
		wantExplicit bool
		wantErr      string
	}{
		{name: "default", wantPath: filepath.Join(home, ".kube", "kuberc")},
		{name: "$KUBERC", env: "/etc/kuberc", wantPath: "/etc/kuberc", wantExplicit: true},
		{name: "--kuberc wins over $KUBERC", flag: "/mine", env: "/etc/kuberc", wantPath: "/mine", wantExplicit: true},
		{name: "$KUBERC=off", env: "off"},
		{name: "$KUBERC=off and --kuberc", flag: "/mine", env: "off", wantErr: "--kuberc: $KUBERC=off turns kuberc off; kubectl refuses both together"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"KUBERC": tt.env, "HOME": home}
			path, explicit, err := setup.KubercFile(tt.flag, func(k string) string { return env[k] })
			if got := errText(err); got != tt.wantErr || path != tt.wantPath || explicit != tt.wantExplicit {
				t.Errorf("KubercFile = %q, %v, %q; want %q, %v, %q", path, explicit, got, tt.wantPath, tt.wantExplicit, tt.wantErr)
			}
		})
	}
	// Without a home directory there is no kuberc kubectl would read, and no error.
	if path, _, err := setup.KubercFile("", func(string) string { return "" }); path != "" || err != nil {
		t.Errorf("without HOME: %q, %v; want no file, no error", path, err)
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

const kubercHead = "apiVersion: kubectl.config.k8s.io/v1beta1\nkind: Preference\n"

func TestAllowPlugin(t *testing.T) {
	const plugin = "/opt/krew/bin/kubectl-aksoidc"
	tests := []struct {
		name     string
		content  string // "" for no file
		explicit bool
		want     setup.KubercChange
		wantFile string // "" when the file must not change
		wantErr  string
	}{
		{name: "no kuberc"},
		{name: "no kuberc, named by the user", explicit: true, wantErr: "no such file or directory"},
		{name: "no policy", content: kubercHead + "aliases: []\n"},
		{name: "AllowAll", content: kubercHead + "credentialPluginPolicy: AllowAll\n", want: setup.KubercChange{Policy: "AllowAll"}},
		{name: "DenyAll is explained, not changed", content: kubercHead + "credentialPluginPolicy: DenyAll\n", want: setup.KubercChange{Policy: "DenyAll"}},
		{
			name:    "an allowlist without the plugin gets it, the rest kept",
			content: "# my preferences\n" + kubercHead + "credentialPluginPolicy: Allowlist\ncredentialPluginAllowlist:\n  - name: /usr/bin/gke-gcloud-auth-plugin # GKE\n",
			want:    setup.KubercChange{Policy: "Allowlist", Added: plugin},
			wantFile: "# my preferences\n" + kubercHead + "credentialPluginPolicy: Allowlist\ncredentialPluginAllowlist:\n" +
				"  - name: /usr/bin/gke-gcloud-auth-plugin # GKE\n  - name: \"" + plugin + "\"\n",
		},
		{
			name:     "a flow-style allowlist",
			content:  kubercHead + "credentialPluginPolicy: Allowlist\ncredentialPluginAllowlist: [{name: kubelogin}]\n",
			want:     setup.KubercChange{Policy: "Allowlist", Added: plugin},
			wantFile: kubercHead + "credentialPluginPolicy: Allowlist\ncredentialPluginAllowlist:\n  - {name: kubelogin}\n  - name: \"" + plugin + "\"\n",
		},
		{name: "already allowed", content: kubercHead + "credentialPluginPolicy: Allowlist\ncredentialPluginAllowlist:\n- name: " + plugin + "\n",
			want: setup.KubercChange{Policy: "Allowlist"}},
		{name: "allowed by an unclean spelling", content: kubercHead + "credentialPluginPolicy: Allowlist\ncredentialPluginAllowlist:\n- name: /opt/krew//bin/kubectl-aksoidc\n",
			want: setup.KubercChange{Policy: "Allowlist"}},
		{
			name:     "the Preference kubectl uses is the first one",
			content:  "apiVersion: v1\nkind: Config\n---\n" + kubercHead + "credentialPluginPolicy: Allowlist\ncredentialPluginAllowlist:\n- name: x\n",
			want:     setup.KubercChange{Policy: "Allowlist", Added: plugin},
			wantFile: "apiVersion: v1\nkind: Config\n---\n" + kubercHead + "credentialPluginPolicy: Allowlist\ncredentialPluginAllowlist:\n  - name: x\n  - name: \"" + plugin + "\"\n",
		},
		{name: "an allowlist that is not a list", content: kubercHead + "credentialPluginPolicy: Allowlist\ncredentialPluginAllowlist: x\n",
			want:    setup.KubercChange{Policy: "Allowlist"},
			wantErr: "credentialPluginPolicy is Allowlist but credentialPluginAllowlist is not a list (kubectl refuses every plugin)"},
		{name: "a policy that is not a string", content: kubercHead + "credentialPluginPolicy: [Allowlist]\n", wantErr: "credentialPluginPolicy is not a string"},
		{name: "not YAML", content: kubercHead + "aliases: [\n", wantErr: "not YAML"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "kuberc")
			if tt.content != "" {
				if err := os.WriteFile(path, []byte(tt.content), 0o640); err != nil {
					t.Fatal(err)
				}
			}
			got, err := setup.AllowPlugin(path, tt.explicit, plugin)
			if e := errText(err); (tt.wantErr == "") != (e == "") || !strings.Contains(e, tt.wantErr) {
				t.Fatalf("error %q, want one containing %q", e, tt.wantErr)
			}
			tt.want.Path = path
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("change (-want +got):\n%s", diff)
			}
			wantFile := tt.wantFile
			if wantFile == "" {
				wantFile = tt.content
			}
			b, err := os.ReadFile(path)
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				t.Fatal(err)
			}
			if diff := cmp.Diff(wantFile, string(b)); diff != "" {
				t.Errorf("kuberc (-want +got):\n%s", diff)
			}
			if fi, err := os.Stat(path); err == nil && fi.Mode().Perm() != 0o640 {
				t.Errorf("kuberc mode %o, want 640 kept", fi.Mode().Perm())
			}
		})
	}
}

// TestRealKubectlRunsThePluginOnceAllowed: the pinned kubectl, under a kuberc
// whose allowlist lacks the plugin, refuses to run it; after AllowPlugin it runs
// it. The plugin stands in for kubectl-aksoidc and records that it ran.
func TestRealKubectlRunsThePluginOnceAllowed(t *testing.T) {
	t.Parallel()
	kubectl := tooldir.Path(t, "k8s", "kubectl")
	dir := t.TempDir()
	plugin, ran := filepath.Join(dir, "bin", "kubectl-aksoidc"), filepath.Join(dir, "ran")
	if err := os.MkdirAll(filepath.Dir(plugin), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(plugin, []byte("#!/bin/sh\ntouch '"+ran+"'\nexit 1\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	kubeconfig, kuberc := filepath.Join(dir, "config"), filepath.Join(dir, "kuberc")
	if _, err := setup.Write(setup.Kubeconfig{Path: kubeconfig, Name: "dev", Server: "https://127.0.0.1:1", Command: plugin, Args: []string{"get-token"}}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kuberc, []byte(kubercHead+"credentialPluginPolicy: Allowlist\ncredentialPluginAllowlist:\n- name: /usr/bin/true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	get := func() string {
		cmd := exec.CommandContext(t.Context(), kubectl, "--kubeconfig", kubeconfig, "--request-timeout=5s", "get", "--raw", "/version")
		cmd.Env = []string{"HOME=" + dir, "KUBERC=" + kuberc, "PATH=" + filepath.Dir(plugin) + ":/usr/bin:/bin"}
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Fatalf("kubectl succeeded against a closed port:\n%s", out)
		}
		return string(out)
	}
	if out := get(); !strings.Contains(out, "not permitted by the credential plugin allowlist") {
		t.Fatalf("before: kubectl did not refuse the plugin:\n%s", out)
	}
	if _, err := os.Stat(ran); err == nil {
		t.Fatal("before: kubectl ran the plugin its allowlist lacks")
	}
	if _, err := setup.AllowPlugin(kuberc, true, plugin); err != nil {
		t.Fatal(err)
	}
	if out := get(); strings.Contains(out, "credential plugin allowlist") {
		t.Fatalf("after: kubectl still refused the plugin:\n%s", out)
	}
	if _, err := os.Stat(ran); err != nil {
		t.Errorf("after: kubectl did not run the plugin: %v", err)
	}
}
