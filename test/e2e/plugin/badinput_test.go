package plugin_test

import (
	"net"
	"testing"

	"github.com/aksoidc/aksoidc/test/dextest"
	"github.com/google/go-cmp/cmp"
)

// TestBadInput gives get-token what users get wrong: each case ends with
// exit code 2 for a bad flag or 1 for a failure while running, nothing on
// stdout (kubectl would try to parse it) and one line on stderr that says what
// is wrong.
func TestBadInput(t *testing.T) {
	t.Parallel()
	dex := dextest.Start(t, dextest.Options{})
	b := newBrowser(t)
	closed := closedLoopbackURL(t)
	// Runs after the parallel subtests below.
	t.Cleanup(func() { assertCounts(t, "after the bad input", dex.Logins(), 0, b.launches(t), 0) })
	for _, tc := range []struct {
		name       string
		args       []string
		env        []string
		wantCode   int
		wantStderr string
	}{
		{
			name:       "missing issuer URL",
			args:       []string{"get-token", "--client-id", dex.ClientID},
			wantCode:   2,
			wantStderr: "kubectl-aksoidc: --issuer-url is required\n",
		},
		{
			name:     "unreachable issuer",
			wantCode: 1,
			args:     []string{"get-token", "--issuer-url", closed, "--client-id", dex.ClientID},
			wantStderr: "kubectl-aksoidc: --issuer-url " + closed + ": discovery failed: dial tcp " +
				closed[len("http://"):] + ": connect: connection refused\n",
		},
		{
			name:       "plain http to a host that is not loopback",
			args:       []string{"get-token", "--issuer-url", "http://issuer.example.org/dex", "--client-id", dex.ClientID},
			wantCode:   2,
			wantStderr: "kubectl-aksoidc: --issuer-url \"http://issuer.example.org/dex\": plain http is allowed only for a loopback host; use https\n",
		},
		{
			name:     "client ID unknown to Dex",
			wantCode: 1,
			args: []string{"get-token", "--issuer-url", dex.IssuerURL, "--client-id", "no-such-client",
				"--browser-command", b.command, "--listen-address", "127.0.0.1:0"},
			wantStderr: "kubectl-aksoidc: the issuer refused the authorization request (HTTP 404 Not Found): check --client-id and the redirect URIs the client allows\n",
		},
		{
			name:     "device code without a terminal",
			wantCode: 1,
			args:     []string{"get-token", "--issuer-url", dex.IssuerURL, "--client-id", dex.ClientID, "--grant-type", "device-code"},
			env:      []string{execInfo(v1.String(), false)},
			wantStderr: "kubectl-aksoidc: device-code login: this login needs a terminal, but kubectl runs the plugin non-interactively; " +
				"run `kubectl aksoidc get-token` with the same flags in a terminal to log in, then retry\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			args := append(tc.args, "--token-cache-dir", dir, "--token-cache-storage", "file")
			r := invocation{args: args, env: tc.env}.run(t)
			if diff := cmp.Diff(result{exitCode: tc.wantCode, stderr: tc.wantStderr}, r, cmp.AllowUnexported(result{})); diff != "" {
				t.Errorf("kubectl-aksoidc %v (-want +got):\n%s", args, diff)
			}
			if files := cacheFiles(t, dir); len(files) != 0 {
				t.Errorf("a failed run left %v in the cache", files)
			}
		})
	}
}

// closedLoopbackURL returns an http URL on a loopback port nothing listens on.
func closedLoopbackURL(t *testing.T) string {
	t.Helper()
	l, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	return "http://" + addr
}
