package plugin_test

import (
	"testing"
)

// TestLogoutWithAHungKeyringSaysSo: logout and logout --all with the keyring daemon stopped
// cannot remove the token it holds, and say so (exit 1) instead of "removed": the token would
// come back when the daemon does. Once it answers again, the same logout removes it and the next
// get-token logs in anew.
func TestLogoutWithAHungKeyringSaysSo(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args func(s keyringFaultSetup) []string
	}{
		{"logout", func(s keyringFaultSetup) []string {
			return []string{"logout", "--issuer-url", s.dex.IssuerURL, "--client-id", s.dex.ClientID, "--token-cache-dir", s.dir}
		}},
		{"logout --all", func(s keyringFaultSetup) []string { return []string{"logout", "--all", "--token-cache-dir", s.dir} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newKeyringFaultSetup(t, browserCommand)
			s.plugin.succeed(t)
			if files := cacheFiles(t, s.dir); len(files) != 0 {
				t.Fatalf("cache dir holds %v after the login, want the token in the keyring", files)
			}
			logout := invocation{env: s.keyring.env, args: tc.args(s)}

			s.keyring.stop(t)
			r := logout.run(t)
			want := "kubectl-aksoidc: the OS keyring did not answer (keyring: " + daemonHung +
				"), so it may still hold the token: run logout again once it does\n"
			if r.exitCode != 1 || r.stderr != want {
				t.Errorf("%s with the keyring daemon stopped: exit %d, stderr %q; want exit 1, stderr %q", tc.name, r.exitCode, r.stderr, want)
			}

			s.keyring.resume(t)
			if r := logout.run(t); r.exitCode != 0 {
				t.Errorf("%s once the daemon answers: exit %d, stderr %q", tc.name, r.exitCode, r.stderr)
			}
			s.plugin.succeed(t)
			assertCounts(t, "get-token after the logout", s.dex.Logins(), 2, s.b.launches(t), 2)
		})
	}
}
