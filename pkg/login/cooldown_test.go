package login_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aksoidc/aksoidc/pkg/login"
	"github.com/aksoidc/aksoidc/pkg/tokencache"
)

// countingBrowser counts the tabs it would open, then lets inner log in (or
// nobody, when inner is nil: then the caller gives up, giveUp).
type countingBrowser struct {
	opened *atomic.Int32
	inner  login.Browser
	giveUp context.CancelFunc
}

func (b countingBrowser) Open(ctx context.Context, url string) error {
	b.opened.Add(1)
	if b.inner == nil {
		b.giveUp()
		return nil
	}
	return b.inner.Open(ctx, url)
}

func TestBackgroundCallersDoNotRetryAFailedLogin(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var opened atomic.Int32
	working := f.cfg.Browser
	// Nobody is at the screen: the login fails once its tab is open (the caller gives up), with
	// no clock involved. The polls below get their answer before any login would start.
	ctx, giveUp := context.WithCancel(context.Background())
	f.cfg.Browser = countingBrowser{opened: &opened, giveUp: giveUp}
	f.cfg.Interactive = false
	f.cfg.LoginTimeout = time.Minute
	f.cfg.FailedLoginCooldown = time.Hour
	f.deps.Failures = tokencache.FailureMarks{Dir: f.store.Dir}

	if _, err := login.GetToken(ctx, f.cfg, f.deps); !errors.Is(err, context.Canceled) {
		t.Fatalf("first call: %v, want the login given up", err)
	}
	for range 3 { // an IDE polling
		_, err := login.GetToken(context.Background(), f.cfg, f.deps)
		if !errors.Is(err, login.ErrNotInteractive) || !strings.Contains(err.Error(), "the last login failed at ") {
			t.Fatalf("poll: %v, want the cool-down error", err)
		}
	}
	if n := opened.Load(); n != 1 {
		t.Errorf("%d browser tabs opened, want 1", n)
	}

	f.cfg.Interactive = true // the user at a terminal may always try again
	f.cfg.LoginTimeout = 10 * time.Second
	f.cfg.Browser = countingBrowser{opened: &opened, inner: working}
	f.getToken(t)
	if _, _, ok := f.deps.Failures.Last(f.cfg.CacheKey().ID()); ok {
		t.Error("a successful login did not clear the failure")
	}
}
