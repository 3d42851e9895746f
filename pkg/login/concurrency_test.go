package login_test

import (
	"context"
	"sync"
	"testing"

	"github.com/aksoidc/aksoidc/pkg/login"
)

func TestConcurrentCallsLogInOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const n = 10
	tokens := make([]login.Token, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			tok, err := login.GetToken(context.Background(), f.cfg, f.deps)
			if err != nil {
				t.Error(err)
			}
			tokens[i] = tok
		})
	}
	wg.Wait()
	if got := f.p.Logins(); got != 1 {
		t.Errorf("%d logins for %d concurrent calls, want 1", got, n)
	}
	for i, tok := range tokens {
		if tok.Value != tokens[0].Value {
			t.Errorf("call %d got a different token", i)
		}
	}
}
