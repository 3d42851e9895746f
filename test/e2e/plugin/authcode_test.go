package plugin_test

import (
	"testing"
	"time"

	"github.com/aksoidc/aksoidc/test/dextest"
)

// TestAuthCodeLoginCacheRefreshRelogin follows one user through a token's
// life: a browser login, a cache hit, a silent refresh after expiry, and a new
// login once Dex has forgotten the refresh token.
func TestAuthCodeLoginCacheRefreshRelogin(t *testing.T) {
	t.Parallel()
	dex := dextest.Start(t, dextest.Options{IDTokenExpiry: 10 * time.Second})
	b := newBrowser(t)
	plugin := invocation{args: getToken(dex.IssuerURL, dex.ClientID, t.TempDir(),
		"--browser-command", b.command, "--listen-address", "127.0.0.1:0",
		"--token-cache-storage", "file", "--min-validity", "1s")}

	login, _ := verifyCredential(t, dex.IssuerURL, dex.ClientID, plugin.succeed(t).stdout, v1beta1)
	assertCounts(t, "after the first run", dex.Logins(), 1, b.launches(t), 1)

	cached := decodeCredential(t, plugin.succeed(t).stdout, v1beta1)
	if cached != login {
		t.Errorf("second run: got a new token, want the cached one")
	}
	assertCounts(t, "after the cache hit", dex.Logins(), 1, b.launches(t), 1)

	waitUntilExpired(t, login.expiry)
	refreshed, _ := verifyCredential(t, dex.IssuerURL, dex.ClientID, plugin.succeed(t).stdout, v1beta1)
	if refreshed.token == login.token || !refreshed.expiry.After(login.expiry) {
		t.Errorf("after expiry: got the expired token back, want a refreshed one")
	}
	assertCounts(t, "after the refresh", dex.Logins(), 1, b.launches(t), 1)

	dex.Restart(t) // Dex's memory storage is gone: the refresh token is revoked.
	waitUntilExpired(t, refreshed.expiry)
	relogin, _ := verifyCredential(t, dex.IssuerURL, dex.ClientID, plugin.succeed(t).stdout, v1beta1)
	if relogin.token == refreshed.token {
		t.Errorf("after the restart: got the expired token back, want one from a new login")
	}
	// dextest counts logins across restarts.
	assertCounts(t, "after the revoked refresh", dex.Logins(), 2, b.launches(t), 2)
}

// assertCounts compares the logins Dex saw and the browser launches with the
// expected numbers.
func assertCounts(t *testing.T, when string, logins, wantLogins, launches, wantLaunches int) {
	t.Helper()
	if logins != wantLogins {
		t.Errorf("%s: Dex saw %d logins, want %d", when, logins, wantLogins)
	}
	if launches != wantLaunches {
		t.Errorf("%s: the browser was opened %d times, want %d", when, launches, wantLaunches)
	}
}
