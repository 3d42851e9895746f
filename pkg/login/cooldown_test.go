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
// nobody, when inner is nil).
type countingBrowser struct {
	opened *atomic.Int32
	inner  login.Browser
}

func (b countingBrowser) Open(ctx context.Context, url string) error {
	b.opened.Add(1)
	if b.inner == nil {
		return nil
	}
	return b.inner.Open(ctx, url)
}

func TestBackgroundCallersDoNotRetryAFailedLogin(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var opened atomic.Int32
	working := f.cfg.Browser
	f.cfg.Browser = countingBrowser{opened: &opened} // nobody at the screen
	f.cfg.Interactive = false
	f.cfg.LoginTimeout = 200 * time.Millisecond
	f.cfg.FailedLoginCooldown = time.Hour
	f.deps.Failures = tokencache.FailureMarks{Dir: f.store.Dir}

	if _, err := login.GetToken(context.Background(), f.cfg, f.deps); !errors.Is(err, login.ErrLoginTimeout) {
		t.Fatalf("first call: %v, want a login timeout", err)
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
