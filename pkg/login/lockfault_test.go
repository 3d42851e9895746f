package login_test

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestUnusableLockStillGivesAToken: where the lock cannot be taken for a reason other than
// waiting (a read-only cache directory: EACCES, here injected), the login goes on without it
// and kubectl gets a token; only a wait that runs out fails.
func TestUnusableLockStillGivesAToken(t *testing.T) {
	f := newFixture(t)
	f.deps.Lock = func(context.Context, string) (func(), error) {
		return nil, errors.New("open /home/u/.kube/cache/oidc-login/x.lock: permission denied")
	}
	if tok := f.getToken(t); tok.Value == "" || f.p.Logins() != 1 {
		t.Fatalf("token %q after %d logins, want one login's token", tok.Value, f.p.Logins())
	}
	if !strings.Contains(f.stderr.String(), "renewing without the lock: open /home/u/.kube/cache/oidc-login/x.lock: permission denied") {
		t.Errorf("stderr at -v 10 does not say the lock was skipped:\n%s", f.stderr)
	}
}
