// Package plugin_test runs the kubectl-aksoidc binary the way kubectl does,
// against a real Dex, a real Secret Service (gnome-keyring) and a real headless
// Chromium, and checks what a user and kubectl would see: the ExecCredential on
// stdout, the messages on stderr, the exit code and the logins at Dex.
package plugin_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aksoidc/aksoidc/test/tooldir"
)

// pluginPath is the kubectl-aksoidc binary built once by TestMain, in
// buildDir, which TestMain removes at the end.
var pluginPath, buildDir string

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "kubectl-aksoidc-e2e-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "create build dir: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir) //nolint:errcheck // best effort, in the temp dir
	buildDir = dir
	root, err := tooldir.RepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	pluginPath = filepath.Join(dir, "kubectl-aksoidc")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-o", pluginPath, "./cmd/kubectl-aksoidc")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build kubectl-aksoidc: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// result is what one plugin run left behind.
type result struct {
	stdout, stderr string
	exitCode       int
}

// invocation is one run of the plugin: its arguments and the environment
// changes on top of the test process's own environment.
type invocation struct {
	args []string
	// env entries "NAME=value" override the inherited ones. KUBERNETES_EXEC_INFO
	// is never inherited.
	env []string
}

// command prepares the run; the caller starts it.
func (inv invocation) command(ctx context.Context) *exec.Cmd {
	cmd := exec.CommandContext(ctx, pluginPath, inv.args...)
	cmd.Env = environ(inv.env)
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

func environ(overrides []string) []string {
	names := map[string]bool{"KUBERNETES_EXEC_INFO": true}
	for _, kv := range overrides {
		name, _, _ := strings.Cut(kv, "=")
		names[name] = true
	}
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !names[name] {
			env = append(env, kv)
		}
	}
	return append(env, overrides...)
}

// run runs the plugin to the end; a run that takes over a minute fails the test.
func (inv invocation) run(t *testing.T) result {
	t.Helper()
	return inv.runContext(t.Context(), t)
}

// runContext is run with a context of the caller's: t.Context() is already
// cancelled when cleanup functions run.
func (inv invocation) runContext(ctx context.Context, t *testing.T) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := inv.command(ctx)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("run kubectl-aksoidc %s: %v", strings.Join(inv.args, " "), err)
	}
	return result{stdout: stdout.String(), stderr: stderr.String(), exitCode: cmd.ProcessState.ExitCode()}
}

// succeed runs the plugin and fails the test unless it exits 0 with nothing
// on stderr, as kubectl users expect at the default verbosity.
func (inv invocation) succeed(t *testing.T) result {
	t.Helper()
	r := inv.run(t)
	if r.exitCode != 0 || r.stderr != "" {
		t.Fatalf("kubectl-aksoidc %s: exit code %d, stderr:\n%s", strings.Join(inv.args, " "), r.exitCode, r.stderr)
	}
	return r
}

// logoutAtCleanup removes what the test left in the keyring (which may be a
// developer's own) when the test ends.
func logoutAtCleanup(t *testing.T, settings []string) {
	t.Helper()
	t.Cleanup(func() {
		r := invocation{args: append([]string{"logout"}, settings...)}.runContext(context.Background(), t)
		if r.exitCode != 0 {
			t.Errorf("logout at cleanup: exit code %d, stderr:\n%s", r.exitCode, r.stderr)
		}
	})
}

// getToken is the get-token command line for an issuer and client, storing
// tokens in dir, followed by extra flags.
func getToken(issuerURL, clientID, dir string, extra ...string) []string {
	return append([]string{"get-token", "--issuer-url", issuerURL, "--client-id", clientID, "--token-cache-dir", dir}, extra...)
}

// execInfo is a KUBERNETES_EXEC_INFO value as kubectl sets it.
func execInfo(apiVersion string, interactive bool) string {
	return fmt.Sprintf(`KUBERNETES_EXEC_INFO={"apiVersion":%q,"kind":"ExecCredential","spec":{"interactive":%t}}`, apiVersion, interactive)
}

// waitUntilExpired sleeps until t has passed, plus a little for clock rounding.
func waitUntilExpired(t *testing.T, expiry time.Time) {
	t.Helper()
	select {
	case <-time.After(time.Until(expiry) + 500*time.Millisecond):
	case <-t.Context().Done():
		t.Fatal("test ended while waiting for the token to expire")
	}
}
