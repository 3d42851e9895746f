package login_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aksoidc/aksoidc/pkg/login"
	"github.com/aksoidc/aksoidc/test/poll"
)

func TestBrowserLoginCacheRefreshRelogin(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	first := f.getToken(t)
	if c := claimsOf(t, first.Value); c["sub"] != "alice" || c["aud"] != "kubectl" {
		t.Fatalf("unexpected claims %v", c)
	}
	if got := f.p.Logins(); got != 1 {
		t.Fatalf("logins = %d, want 1", got)
	}
	if again := f.getToken(t); again.Value != first.Value || !again.Expiry.Equal(first.Expiry) {
		t.Errorf("a second call did not return the cached token")
	}
	if got := f.p.Logins() + f.p.Refreshes(); got != 1 {
		t.Errorf("a cache hit talked to the issuer (%d logins+refreshes, want 1)", got)
	}

	// A margin longer than the token's life makes it due for refresh.
	f.cfg.MinValidity = 11 * time.Minute
	rt := f.cached(t).RefreshToken
	refreshed := f.getToken(t)
	if refreshed.Value == first.Value || f.p.Refreshes() != 1 || f.p.Logins() != 1 {
		t.Fatalf("want one refresh and no login: refreshes=%d logins=%d", f.p.Refreshes(), f.p.Logins())
	}
	if f.cached(t).RefreshToken == rt {
		t.Fatal("the rotated refresh token was not saved")
	}
	f.getToken(t) // works only with the rotated refresh token
	if f.p.Refreshes() != 2 || f.p.Logins() != 1 {
		t.Fatalf("second refresh: refreshes=%d logins=%d", f.p.Refreshes(), f.p.Logins())
	}

	f.p.RevokeAll()
	f.getToken(t)
	if f.p.Logins() != 2 {
		t.Errorf("a revoked refresh token did not lead to a new login (logins=%d)", f.p.Logins())
	}
	if !strings.Contains(f.stderr.String(), "the refresh token was refused (invalid_grant); logging in again") {
		t.Errorf("stderr does not explain the new login:\n%s", f.stderr)
	}
}

func TestForceRefreshSkipsTheCache(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	first := f.getToken(t)
	f.cfg.ForceRefresh = true
	if f.getToken(t).Value == first.Value || f.p.Refreshes() != 1 {
		t.Errorf("--force-refresh returned the cached token (refreshes=%d)", f.p.Refreshes())
	}
}

func TestCorruptCacheEntryIsReplaced(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if err := writeFile(f.store.Dir, f.cfg.CacheKey().ID()+".json", "{\"id_token\": tru"); err != nil {
		t.Fatal(err)
	}
	f.getToken(t)
	if e := f.cached(t); e.IDToken == "" || f.p.Logins() != 1 {
		t.Errorf("the corrupt entry was not replaced by one login: logins=%d", f.p.Logins())
	}
}

func TestDeviceCodeLogin(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.cfg.GrantType = login.DeviceCode
	tok := f.getToken(t)
	if claimsOf(t, tok.Value)["sub"] != "alice" || f.p.Logins() != 1 {
		t.Fatalf("device login: logins=%d", f.p.Logins())
	}
	want := "Open " + f.p.URL + "/device and enter the code ABCD-EFGH to log in.\n"
	if !strings.Contains(f.stderr.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, f.stderr)
	}
}

func TestKeyboardLogin(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.cfg.GrantType = login.AuthCodeKeyboard
	stdin, typist := io.Pipe()
	f.cfg.Stdin = stdin
	found := make(chan string, 1)
	f.cfg.Stderr = &urlWriter{w: f.stderr, found: found}
	client := trustingClient(t, f.p.CAPEM)
	go func() {
		var url string
		select {
		case url = <-found:
		case <-t.Context().Done():
			return
		}
		resp, err := client.Get(url) //nolint:noctx // test
		if err != nil {
			t.Error(err)
			return
		}
		defer func() { _ = resp.Body.Close() }()
		code, _ := bufio.NewReader(resp.Body).ReadString('\n')
		_, _ = io.WriteString(typist, code+"\n")
	}()
	if tok := f.getToken(t); claimsOf(t, tok.Value)["sub"] != "alice" {
		t.Error("keyboard login gave no token for alice")
	}
}

var authorizeURL = regexp.MustCompile(`https://\S+/authorize\?\S+`)

// urlWriter passes writes on to w and sends the first authorization URL written on found:
// the user reads it on the terminal the moment it is printed.
type urlWriter struct {
	w     io.Writer
	mu    sync.Mutex
	seen  strings.Builder
	found chan<- string // nil once sent
}

func (u *urlWriter) Write(p []byte) (int, error) {
	u.mu.Lock()
	u.seen.Write(p)
	if m := authorizeURL.FindString(u.seen.String()); m != "" && u.found != nil {
		u.found <- m
		u.found = nil
	}
	u.mu.Unlock()
	return u.w.Write(p)
}

func TestNonInteractiveNeverPrompts(t *testing.T) {
	t.Parallel()
	for _, grant := range []login.GrantType{login.AuthCodeKeyboard, login.DeviceCode} {
		t.Run(string(grant), func(t *testing.T) {
			f := newFixture(t)
			f.cfg.GrantType, f.cfg.Interactive = grant, false
			_, err := login.GetToken(context.Background(), f.cfg, f.deps)
			if !errors.Is(err, login.ErrNotInteractive) {
				t.Fatalf("got %v, want ErrNotInteractive", err)
			}
			if strings.Contains(f.stderr.String(), "Open ") {
				t.Errorf("a non-interactive run prompted:\n%s", f.stderr)
			}
		})
	}
}

func TestLoginTimeoutClosesTheListener(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	addr := freePort(t)
	f.cfg.ListenAddresses = []string{addr}
	f.cfg.Browser = nil // nobody logs in
	f.cfg.LoginTimeout = 300 * time.Millisecond
	_, err := login.GetToken(context.Background(), f.cfg, f.deps)
	if !errors.Is(err, login.ErrLoginTimeout) {
		t.Fatalf("got %v, want ErrLoginTimeout", err)
	}
	if want := "login did not complete in time: gave up after 300ms (--login-timeout)"; err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
	// oauth2cli closes its listener in the background once the login gave up: wait for the
	// port to be free; poll fails the test if it never is.
	poll.Until(t, 10*time.Second, func() bool {
		l, err := listen(addr)
		if err != nil {
			return false
		}
		_ = l.Close()
		return true
	})
}

func listen(addr string) (net.Listener, error) {
	var lc net.ListenConfig
	return lc.Listen(context.Background(), "tcp", addr)
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

func TestBusyListenAddressesAreNamed(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var addrs []string
	for range 2 {
		l, err := listen("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = l.Close() })
		addrs = append(addrs, l.Addr().String())
	}
	f.cfg.ListenAddresses = addrs
	_, err := login.GetToken(context.Background(), f.cfg, f.deps)
	want := "no free loopback address for the login callback (--listen-address " + strings.Join(addrs, ",") + "): "
	if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("error = %v, want prefix %q and the reason", err, want)
	}
}
