package setup_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aksoidc/aksoidc/pkg/setup"
	"github.com/aksoidc/aksoidc/test/tooldir"
	"github.com/google/go-cmp/cmp"
)

// TestRealKubectlReadsTheWrittenFiles: the pinned kubectl, given a
// KUBECONFIG of two files setup wrote into, shows every exec arg as written,
// keeps the other entries, and runs the plugin with exactly those args.
func TestRealKubectlReadsTheWrittenFiles(t *testing.T) {
	t.Parallel()
	kubectl := tooldir.Path(t, "k8s", "kubectl")
	dir := t.TempDir()
	first, second := filepath.Join(dir, "first"), filepath.Join(dir, "second")
	if err := os.WriteFile(first, []byte(otherFile+"current-context: \"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	stale := "apiVersion: v1\nkind: Config\nusers:\n- name: dev\n  user: {token: stale}\n"
	if err := os.WriteFile(second, []byte(stale), 0o600); err != nil {
		t.Fatal(err)
	}
	// The plugin stands in for kubectl-aksoidc: it records its args, NUL-separated.
	plugin, record := filepath.Join(dir, "plugin"), filepath.Join(dir, "args")
	script := "#!/bin/sh\nprintf '%s\\0' \"$@\" > '" + record + "'\nexit 1\n"
	if err := os.WriteFile(plugin, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	list := first + string(os.PathListSeparator) + second
	if _, err := setup.Write(setup.Kubeconfig{EnvPaths: list, Name: "dev", Server: "https://127.0.0.1:1",
		Command: plugin, Args: hostileArgs}); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "KUBECONFIG="+list, "HOME="+dir)
	view := runKubectl(t, kubectl, env, "config", "view", "--raw", "-o", "json")
	var cfg struct {
		CurrentContext string `json:"current-context"`
		Users          []struct {
			Name string `json:"name"`
			User struct {
				Token string `json:"token"`
				Exec  struct {
					Command string   `json:"command"`
					Args    []string `json:"args"`
				} `json:"exec"`
			} `json:"user"`
		} `json:"users"`
	}
	if err := json.Unmarshal(view, &cfg); err != nil {
		t.Fatalf("kubectl config view: %v\n%s", err, view)
	}
	got := map[string][]string{}
	for _, u := range cfg.Users {
		got[u.Name] = append([]string{u.User.Token, u.User.Exec.Command}, u.User.Exec.Args...)
	}
	want := map[string][]string{"admin": {"keep-me", ""}, "dev": append([]string{"", plugin}, hostileArgs...)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("users as kubectl reads them: token, command, args (-want +got):\n%s", diff)
	}
	if cfg.CurrentContext != "dev" {
		t.Errorf("current context %q, want dev", cfg.CurrentContext)
	}
	// kubectl runs the plugin before it dials; the plugin fails on purpose.
	get := exec.CommandContext(t.Context(), kubectl, "get", "--raw", "/version") //nolint:gosec // the pinned kubectl
	get.Env = env
	_, _ = get.CombinedOutput()
	runArgs, err := os.ReadFile(record)
	if err != nil {
		t.Fatalf("kubectl did not run the plugin: %v", err)
	}
	if diff := cmp.Diff(hostileArgs, strings.Split(strings.TrimSuffix(string(runArgs), "\x00"), "\x00")); diff != "" {
		t.Errorf("args the plugin received (-want +got):\n%s", diff)
	}
}

func runKubectl(t *testing.T, kubectl string, env []string, args ...string) []byte {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), kubectl, args...) //nolint:gosec // the pinned kubectl
	var stderr bytes.Buffer
	cmd.Env, cmd.Stderr = env, &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubectl %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}
