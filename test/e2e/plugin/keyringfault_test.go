package plugin_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aksoidc/aksoidc/test/dextest"
	"github.com/aksoidc/aksoidc/test/poll"
)

// keyringFailed is the warning get-token prints once, at the default
// verbosity, when the keyring fails mid-call and the token goes to the file
// store.
func keyringFailed(cause, dir string) string {
	return "warning: the OS keyring failed mid-call (keyring: " + cause + "); keeping tokens in " + dir + "\n"
}

// The causes of a keyring call that failed mid-call: the bus's answer when
// the daemon dies before replying, and the plugin's own timeout.
const (
	daemonKilled = "Message recipient disconnected from message bus without replying"
	daemonHung   = "no answer within 10s"
)

// keyringFaultSetup is one test's Dex, browser, keyring daemon and get-token
// command line.
type keyringFaultSetup struct {
	dex     *dextest.Server
	b       *browser
	keyring *privateKeyring
	dir     string
	plugin  invocation
}

func newKeyringFaultSetup(t *testing.T, browserCommand func(*browser) string) keyringFaultSetup {
	t.Helper()
	s := keyringFaultSetup{dex: dextest.Start(t, dextest.Options{}), b: newBrowser(t), keyring: startPrivateKeyring(t)}
	s.dir = filepath.Join(t.TempDir(), "cache")
	s.plugin = invocation{env: s.keyring.env, args: getToken(s.dex.IssuerURL, s.dex.ClientID, s.dir,
		"--browser-command", browserCommand(s.b), "--listen-address", "127.0.0.1:0")}
	return s
}

func browserCommand(b *browser) string { return b.command }

// TestKeyringDaemonKilledDuringLoad kills the keyring daemon while get-token
// waits for it to read a cached entry: the run logs in again (the entry is
// out of reach), keeps the token in a 0600 file, and the next runs are served
// from the file and refresh with its refresh token. go-keyring ignores the
// error of the call in flight (its check of the login collection's path) and
// its next call finds no Secret Service on the bus, so to the plugin this is
// a keyring that is not there: said once at -v 1, as in
// TestKeyringUnavailableFallsBackToFile.
func TestKeyringDaemonKilledDuringLoad(t *testing.T) {
	t.Parallel()
	s := newKeyringFaultSetup(t, browserCommand)
	s.plugin.succeed(t)
	if files := cacheFiles(t, s.dir); len(files) != 0 {
		t.Fatalf("cache dir holds %v after the first login, want the token in the keyring", files)
	}

	s.keyring.stop(t)
	verbose := s.plugin
	verbose.args = append(append([]string(nil), s.plugin.args...), "-v", "1")
	wait := startRun(t, verbose)
	s.keyring.killDuringCall(t)
	r := wait()

	if diff := cmp.Diff([]string{keyringAbsent(s.dir)}, keyringLines(r.stderr)); diff != "" {
		t.Errorf("stderr's lines about the keyring (-want +got):\n%s\nstderr:\n%s", diff, r.stderr)
	}
	login := s.assertKeptInFile(t, r)
	assertCounts(t, "after the killed load", s.dex.Logins(), 2, s.b.launches(t), 2)
	s.assertServedFromFile(t, login, 2)
}

// keyringAbsent is what -v 1 says once when no Secret Service is on the bus.
func keyringAbsent(dir string) string {
	return "the OS keyring is unavailable (keyring: The name org.freedesktop.secrets was not provided by any .service files); keeping tokens in " + dir + "\n"
}

// keyringLines are the lines of stderr that mention the keyring.
func keyringLines(stderr string) []string {
	var lines []string
	for line := range strings.Lines(stderr) {
		if strings.Contains(line, "keyring") {
			lines = append(lines, line)
		}
	}
	return lines
}

// TestKeyringDaemonKilledDuringSave kills the keyring daemon while get-token
// waits for it to store the token of a new login: the token and its refresh
// token go to a 0600 file instead, with one warning, and the next runs use
// them without a new login.
func TestKeyringDaemonKilledDuringSave(t *testing.T) {
	t.Parallel()
	var g *gate
	s := newKeyringFaultSetup(t, func(b *browser) string {
		g = newGate(t, b.command)
		return g.command
	})

	wait := startRun(t, s.plugin)
	// The browser opens after get-token found no entry in the keyring: the
	// next keyring call is the save, after the login.
	g.waitForLaunch(t)
	s.keyring.stop(t)
	g.open(t)
	s.keyring.killDuringCall(t)
	r := wait()

	if want := keyringFailed(daemonKilled, s.dir); r.stderr != want {
		t.Errorf("stderr %q, want %q", r.stderr, want)
	}
	login := s.assertKeptInFile(t, r)
	assertCounts(t, "after the killed save", s.dex.Logins(), 1, s.b.launches(t), 1)
	s.assertServedFromFile(t, login, 1)
}

// TestKeyringDaemonHung stops the keyring daemon (SIGSTOP) for good: the
// first keyring call gives up after 10s, the login goes on with the file
// store, and once the daemon runs again the plugin uses it with the file's
// entry. Without the bound, get-token waited for as long as the daemon was
// stopped (762s, until killed; SIGTERM did not end it).
func TestKeyringDaemonHung(t *testing.T) {
	t.Parallel()
	s := newKeyringFaultSetup(t, browserCommand)
	s.keyring.stop(t)
	start := time.Now()
	r := s.plugin.run(t)
	t.Logf("get-token with a stopped keyring daemon took %s", time.Since(start).Round(time.Millisecond))
	if want := keyringFailed(daemonHung, s.dir); r.stderr != want {
		t.Errorf("stderr %q, want %q", r.stderr, want)
	}
	login := s.assertKeptInFile(t, r)
	assertCounts(t, "after the login", s.dex.Logins(), 1, s.b.launches(t), 1)

	s.keyring.resume(t)
	if cached := decodeCredential(t, s.plugin.succeed(t).stdout, v1beta1); cached != login {
		t.Errorf("with the daemon running again: got a new token, want the one from the file")
	}
	assertCounts(t, "after the daemon resumed", s.dex.Logins(), 1, s.b.launches(t), 1)
}

// assertKeptInFile checks a run whose keyring failed: exit 0, a working token
// on stdout, which a 0600 file holds.
func (s keyringFaultSetup) assertKeptInFile(t *testing.T, r result) credential {
	t.Helper()
	if r.exitCode != 0 {
		t.Fatalf("exit code %d, want 0; stderr:\n%s", r.exitCode, r.stderr)
	}
	login, _ := verifyCredential(t, s.dex.IssuerURL, s.dex.ClientID, r.stdout, v1beta1)
	assertTokenFile(t, s.dir, keyOf(s.dex.IssuerURL, s.dex.ClientID).ID(), login.token)
	return login
}

// assertServedFromFile runs get-token twice with the daemon gone: the first
// hands out the file's token, the second (--force-refresh) the one its
// refresh token gets; neither logs in nor says a word at the default
// verbosity.
func (s keyringFaultSetup) assertServedFromFile(t *testing.T, login credential, logins int) {
	t.Helper()
	if cached := decodeCredential(t, s.plugin.succeed(t).stdout, v1beta1); cached != login {
		t.Errorf("next run: got a new token, want the one from the file")
	}
	refresh := s.plugin
	refresh.args = append(append([]string(nil), s.plugin.args...), "--force-refresh")
	refreshed, _ := verifyCredential(t, s.dex.IssuerURL, s.dex.ClientID, refresh.succeed(t).stdout, v1beta1)
	if refreshed.token == login.token {
		t.Errorf("--force-refresh: got the cached token back, want a refreshed one")
	}
	assertCounts(t, "after the runs served from the file", s.dex.Logins(), logins, s.b.launches(t), logins)
}

// startRun starts the plugin and returns the function that waits for it.
func startRun(t *testing.T, inv invocation) func() result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	cmd := inv.command(ctx)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start kubectl-aksoidc: %v", err)
	}
	t.Cleanup(cancel)
	return func() result {
		_ = cmd.Wait() // the exit code is in ProcessState
		cancel()
		return result{stdout: stdout.String(), stderr: stderr.String(), exitCode: cmd.ProcessState.ExitCode()}
	}
}

// gate is a --browser-command that holds the browser until the test opens
// the gate: the test acts between get-token's cache read and its login.
type gate struct {
	command string
	dir     string
	fifo    *os.File
}

const gateScript = `#!/bin/sh
: >%[1]q/launched
# The test writes a line when the browser may go on; EOF means it ended.
read -r _ <%[1]q/gate || exit 1
exec %[2]q "$@"
`

func newGate(t *testing.T, browserCommand string) *gate {
	t.Helper()
	g := &gate{dir: t.TempDir()}
	g.command = filepath.Join(g.dir, "gate.sh")
	if err := os.WriteFile(g.command, fmt.Appendf(nil, gateScript, g.dir, browserCommand), 0o700); err != nil { //nolint:gosec // an executable script
		t.Fatal(err)
	}
	path := filepath.Join(g.dir, "gate")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	// Open for reading and writing: this does not wait for a reader, and
	// the script's read does not wait for a writer.
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	g.fifo = f
	t.Cleanup(func() { _ = f.Close() })
	return g
}

func (g *gate) waitForLaunch(t *testing.T) {
	t.Helper()
	poll.Until(t, time.Minute, func() bool {
		_, err := os.Stat(filepath.Join(g.dir, "launched"))
		return err == nil
	})
}

func (g *gate) open(t *testing.T) {
	t.Helper()
	if _, err := g.fifo.WriteString("go\n"); err != nil {
		t.Fatalf("open the browser gate: %v", err)
	}
}

// TestKeyringDaemonKilledDuringRefreshSave kills the keyring daemon while
// get-token stores a refreshed token: Dex has rotated the refresh token, the
// keyring still holds the old one. The new one goes to the file; once a new
// daemon serves the old keyring, the file's newer entry wins, its refresh
// token works, and the keyring takes the next entry again.
func TestKeyringDaemonKilledDuringRefreshSave(t *testing.T) {
	t.Parallel()
	s := newKeyringFaultSetup(t, browserCommand)
	first, _ := verifyCredential(t, s.dex.IssuerURL, s.dex.ClientID, s.plugin.succeed(t).stdout, v1beta1)
	id := keyOf(s.dex.IssuerURL, s.dex.ClientID).ID()
	before, ok := s.keyring.entry(t, id)
	if !ok || before.IDToken != first.token {
		t.Fatalf("the keyring does not hold the first login's token")
	}

	// --force-refresh reads the keyring once; Dex holds the refresh request
	// until the daemon, having answered that read, is stopped.
	s.keyring.forgetCalls(t)
	s.dex.Pause(t)
	wait := startRun(t, withArgs(s.plugin, "--force-refresh"))
	s.keyring.waitForCallTo(t, "Close") // go-keyring ends a read by closing its session
	s.keyring.stop(t)
	s.dex.Resume(t)
	s.keyring.killDuringCall(t)
	r := wait()
	if want := keyringFailed(daemonKilled, s.dir); r.stderr != want {
		t.Errorf("stderr %q, want %q", r.stderr, want)
	}
	refreshed := s.assertKeptInFile(t, r)
	if refreshed.token == first.token {
		t.Fatalf("--force-refresh handed out the cached token")
	}

	s.keyring.restart(t)
	if stale, ok := s.keyring.entry(t, id); !ok || stale.RefreshToken != before.RefreshToken {
		t.Fatalf("the restarted keyring does not hold the entry from before the refresh")
	}
	if cached := decodeCredential(t, s.plugin.succeed(t).stdout, v1beta1); cached != refreshed {
		t.Errorf("with the old keyring back: got another token than the refreshed one in the file")
	}
	again, _ := verifyCredential(t, s.dex.IssuerURL, s.dex.ClientID, withArgs(s.plugin, "--force-refresh").succeed(t).stdout, v1beta1)
	assertCounts(t, "after the refreshes", s.dex.Logins(), 1, s.b.launches(t), 1)
	if e, ok := s.keyring.entry(t, id); !ok || e.IDToken != again.token {
		t.Errorf("the keyring does not hold the token of the last refresh")
	}
	if files := cacheFiles(t, s.dir); len(files) != 0 {
		t.Errorf("cache dir holds %v, want the file copy removed once the keyring took the entry", files)
	}
}

// withArgs is inv with more arguments.
func withArgs(inv invocation, args ...string) invocation {
	inv.args = append(append([]string(nil), inv.args...), args...)
	return inv
}
