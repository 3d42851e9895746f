package plugin_test

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aksoidc/aksoidc/pkg/tokencache"
	"github.com/aksoidc/aksoidc/test/dextest"
	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/go-cmp/cmp"
)

// identityScopes make Dex put the mock user's name, email and groups in the
// ID token, so whoami has something to show.
var identityScopes = []string{"--extra-scope", "email", "--extra-scope", "profile", "--extra-scope", "groups"}

// TestKeyringStore keeps the token in the real Secret Service (gnome-keyring):
// nothing lands in the cache dir, the next run is served from the keyring,
// whoami reads it and logout removes it.
func TestKeyringStore(t *testing.T) {
	t.Parallel()
	requireSecretService(t)
	dex := dextest.Start(t, dextest.Options{})
	b := newBrowser(t)
	dir := t.TempDir()
	settings := append([]string{"--issuer-url", dex.IssuerURL, "--client-id", dex.ClientID, "--token-cache-dir", dir}, identityScopes...)
	plugin := invocation{args: append(append([]string{"get-token"}, settings...),
		"--browser-command", b.command, "--listen-address", "127.0.0.1:0")}
	logoutAtCleanup(t, settings)

	login, idt := verifyCredential(t, dex.IssuerURL, dex.ClientID, plugin.succeed(t).stdout, v1beta1)
	if files := cacheFiles(t, dir); len(files) != 0 {
		t.Errorf("cache dir holds %v, want no token file: the keyring is available", files)
	}
	store := tokencache.KeyringStore{Service: tokencache.KeyringService}
	id := keyOf(dex.IssuerURL, dex.ClientID, "email", "profile", "groups").ID()
	if e, err := store.Load(id); err != nil || e.IDToken != login.token {
		t.Errorf("the keyring item %s/%s does not hold the token (err: %v)", tokencache.KeyringService, id, err)
	}

	if cached := decodeCredential(t, plugin.succeed(t).stdout, v1beta1); cached != login {
		t.Errorf("second run: got a new token, want the one from the keyring")
	}
	assertCounts(t, "after the keyring hit", dex.Logins(), 1, b.launches(t), 1)
	assertWhoami(t, settings, nil, idt, login.token)

	logout(t, settings, nil)
	if _, err := store.Load(id); !errors.Is(err, tokencache.ErrNotFound) {
		t.Errorf("after logout the keyring item is still there (err: %v)", err)
	}
	verifyCredential(t, dex.IssuerURL, dex.ClientID, plugin.succeed(t).stdout, v1beta1)
	assertCounts(t, "after logout", dex.Logins(), 2, b.launches(t), 2)
}

// TestKeyringUnavailableFallsBackToFile runs the plugin where no Secret
// Service answers (a dead session bus, as in containers and WSL): the login
// still works, the token goes to a 0600 file, -v 1 says so once per run.
func TestKeyringUnavailableFallsBackToFile(t *testing.T) {
	t.Parallel()
	dex := dextest.Start(t, dextest.Options{})
	b := newBrowser(t)
	// A socket path nothing listens on. An empty DBUS_SESSION_BUS_ADDRESS
	// would make D-Bus autolaunch a session bus (and gnome-keyring) that
	// outlive the test wherever dbus-launch is installed.
	noBus := []string{"DBUS_SESSION_BUS_ADDRESS=unix:path=" + filepath.Join(t.TempDir(), "no-bus")}
	dir := filepath.Join(t.TempDir(), "cache") // created by the plugin
	settings := append([]string{"--issuer-url", dex.IssuerURL, "--client-id", dex.ClientID, "--token-cache-dir", dir}, identityScopes...)
	plugin := invocation{env: noBus, args: append(append([]string{"get-token"}, settings...),
		"--browser-command", b.command, "--listen-address", "127.0.0.1:0", "-v", "1")}

	r := plugin.run(t)
	if r.exitCode != 0 {
		t.Fatalf("login without a keyring: exit code %d, stderr:\n%s", r.exitCode, r.stderr)
	}
	assertSaidOnce(t, r.stderr, dir)
	login, idt := verifyCredential(t, dex.IssuerURL, dex.ClientID, r.stdout, v1beta1)
	assertTokenFile(t, dir, keyOf(dex.IssuerURL, dex.ClientID, "email", "profile", "groups").ID(), login.token)

	r = plugin.run(t)
	assertSaidOnce(t, r.stderr, dir)
	if cached := decodeCredential(t, r.stdout, v1beta1); cached != login {
		t.Errorf("second run: got a new token, want the one from the file")
	}
	assertCounts(t, "after the file hit", dex.Logins(), 1, b.launches(t), 1)
	assertWhoami(t, settings, noBus, idt, login.token)

	logout(t, settings, noBus)
	if files := cacheFiles(t, dir); len(files) != 0 {
		t.Errorf("after logout the cache dir still holds %v", files)
	}
	plugin.args = plugin.args[:len(plugin.args)-2] // default verbosity: a clean stderr
	verifyCredential(t, dex.IssuerURL, dex.ClientID, plugin.succeed(t).stdout, v1beta1)
	assertCounts(t, "after logout", dex.Logins(), 2, b.launches(t), 2)
}

// requireSecretService skips the test where no session bus is set up (a
// developer's shell outside `make test`), and fails it in CI.
func requireSecretService(t *testing.T) {
	t.Helper()
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") != "" {
		return
	}
	const why = "no D-Bus session (DBUS_SESSION_BUS_ADDRESS is empty): run under `make test`, which starts dbus-run-session and gnome-keyring"
	if os.Getenv("CI") == "true" {
		t.Fatal(why)
	}
	t.Skip(why)
}

// keyOf is the cache key get-token uses with default flags plus extra scopes.
func keyOf(issuerURL, clientID string, extraScopes ...string) tokencache.Key {
	return tokencache.Key{
		IssuerURL: issuerURL, ClientID: clientID, GrantType: "authcode",
		Scopes: append([]string{"openid", "offline_access"}, extraScopes...),
	}
}

// cacheFiles lists the token files in a cache dir (lock files do not count).
func cacheFiles(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatalf("list %s: %v", dir, err)
	}
	return files
}

func assertTokenFile(t *testing.T, dir, id, token string) {
	t.Helper()
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("cache dir %s: %v, want mode 0700 (err: %v)", dir, fi.Mode(), err)
	}
	path := filepath.Join(dir, id+".json")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("no token file: %v (cache dir holds %v)", err, cacheFiles(t, dir))
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, want 0600", fi.Mode().Perm())
	}
	if e, err := (tokencache.FileStore{Dir: dir}).Load(id); err != nil || e.IDToken != token {
		t.Errorf("the token file does not hold the token (err: %v)", err)
	}
}

// keyringUnavailable is the line -v 1 prints once when the keyring fails.
const keyringUnavailable = "the OS keyring is unavailable ("

func assertSaidOnce(t *testing.T, stderr, dir string) {
	t.Helper()
	var said []string
	for line := range strings.Lines(stderr) {
		if strings.HasPrefix(line, keyringUnavailable) {
			said = append(said, line)
		}
	}
	if len(said) != 1 {
		t.Fatalf("stderr says %d times that the keyring is unavailable, want once:\n%s", len(said), stderr)
	}
	want := regexp.MustCompile(`^the OS keyring is unavailable \(keyring: .+\); keeping tokens in ` + regexp.QuoteMeta(dir) + "\n$")
	if !want.MatchString(said[0]) {
		t.Errorf("stderr line %q: want it to match %q", said[0], want)
	}
}

// assertWhoami checks whoami's exact output for Dex's mock user.
func assertWhoami(t *testing.T, settings, env []string, idt *oidc.IDToken, token string) {
	t.Helper()
	r := invocation{args: append([]string{"whoami"}, settings...), env: env}.succeed(t)
	if strings.Contains(r.stdout, token) {
		t.Fatalf("whoami printed the token")
	}
	expiry := idt.Expiry.UTC()
	// The remaining time depends on when the test runs; the rest is exact.
	remaining := regexp.MustCompile(`\(expires in (\d+h)?(\d+m)?\d+s\)\n$`)
	got := remaining.ReplaceAllString(r.stdout, "(expires in REMAINING)\n")
	want := "Issuer:  " + idt.Issuer + "\n" +
		"Subject: " + idt.Subject + "\n" +
		"Name:    " + dextest.MockUsername + "\n" +
		"Email:   " + dextest.MockEmail + "\n" +
		"Groups:  " + dextest.MockGroup + "\n" +
		"Expiry:  " + expiry.Format(time.RFC3339) + " (expires in REMAINING)\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("whoami output (-want +got):\n%s", diff)
	}
}

func logout(t *testing.T, settings, env []string) {
	t.Helper()
	r := invocation{args: append([]string{"logout"}, settings...), env: env}.run(t)
	// Dex publishes no revocation endpoint: the refresh token is forgotten here only.
	removed := "Removed the cached token; the identity provider offers no revocation, so its refresh token stays valid there until it expires.\n"
	if r.exitCode != 0 || r.stdout != "" || r.stderr != removed {
		t.Fatalf("logout: exit code %d, stdout %q, stderr %q; want 0, nothing, the removal message", r.exitCode, r.stdout, r.stderr)
	}
}
