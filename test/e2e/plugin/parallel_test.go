package plugin_test

import (
	"bytes"
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/aksoidc/aksoidc/test/dextest"
)

// parallelRuns is how many get-token processes start at once, as when
// kubectl, helm and k9s all start with an empty cache.
const parallelRuns = 20

// TestParallelGetTokenLogsInOnce starts 20 get-token processes on an empty
// cache: one of them logs in (one browser, one login at Dex), the others wait
// for it and all 20 hand out the same valid token without a word on stderr.
func TestParallelGetTokenLogsInOnce(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		storage string
	}{
		{name: "file", storage: "file"},
		{name: "keyring", storage: "keyring"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.storage == "keyring" {
				requireSecretService(t)
			}
			dex := dextest.Start(t, dextest.Options{})
			b := newBrowser(t)
			settings := []string{"--issuer-url", dex.IssuerURL, "--client-id", dex.ClientID,
				"--token-cache-dir", t.TempDir(), "--token-cache-storage", tc.storage}
			if tc.storage == "keyring" {
				logoutAtCleanup(t, settings)
			}
			plugin := invocation{args: append(append([]string{"get-token"}, settings...),
				"--browser-command", b.command, "--listen-address", "127.0.0.1:0")}

			results := runAtOnce(t, plugin, parallelRuns)
			var first credential
			for i, r := range results {
				if r.exitCode != 0 || r.stderr != "" {
					t.Errorf("process %d: exit code %d, stderr:\n%s", i, r.exitCode, r.stderr)
					continue
				}
				if first.token == "" {
					first, _ = verifyCredential(t, dex.IssuerURL, dex.ClientID, r.stdout, v1beta1)
				} else if got := decodeCredential(t, r.stdout, v1beta1); got != first {
					t.Errorf("process %d handed out another token than the first", i)
				}
			}
			assertCounts(t, "after the parallel runs", dex.Logins(), 1, b.launches(t), 1)
		})
	}
}

// runAtOnce starts n copies of inv before waiting for any of them.
func runAtOnce(t *testing.T, inv invocation, n int) []result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmds := make([]*exec.Cmd, n)
	outs := make([][2]bytes.Buffer, n)
	for i := range cmds {
		cmds[i] = inv.command(ctx)
		cmds[i].Stdout, cmds[i].Stderr = &outs[i][0], &outs[i][1]
		if err := cmds[i].Start(); err != nil {
			t.Fatalf("start process %d: %v", i, err)
		}
	}
	results := make([]result, n)
	for i, cmd := range cmds {
		_ = cmd.Wait() // the exit code is in ProcessState
		results[i] = result{stdout: outs[i][0].String(), stderr: outs[i][1].String(), exitCode: cmd.ProcessState.ExitCode()}
	}
	return results
}
