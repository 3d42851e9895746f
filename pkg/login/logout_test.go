package login_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aksoidc/aksoidc/pkg/login"
	"github.com/aksoidc/aksoidc/pkg/tokencache"
)

// TestLogoutRevokesEveryCopy: after a keyring fault the keyring may hold an older entry than the
// file (Fallback serves the newer); logout revokes the refresh token of each, not only of the
// first store that answers, so none stays valid at the issuer.
func TestLogoutRevokesEveryCopy(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.p.EnableRevocation(0)
	id := f.cfg.CacheKey().ID()
	f.getToken(t)
	older := f.cached(t)
	stale := tokencache.FileStore{Dir: t.TempDir()} // plays the keyring that missed the newer save
	if err := stale.Save(id, older); err != nil {
		t.Fatal(err)
	}
	if err := f.store.Delete(id); err != nil {
		t.Fatal(err)
	}
	f.getToken(t) // a second login: another refresh token, in the file
	newer := f.cached(t)
	if newer.RefreshToken == older.RefreshToken {
		t.Fatal("the second login got the same refresh token")
	}

	res, err := login.Logout(context.Background(), f.cfg, []tokencache.Store{stale, f.store})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(login.LogoutResult{Found: true, Revoked: true}, res); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	want := []string{"refresh_token " + older.RefreshToken, "refresh_token " + newer.RefreshToken}
	if diff := cmp.Diff(want, f.p.Revoked()); diff != "" {
		t.Errorf("revocation requests (-want +got):\n%s", diff)
	}
	for _, r := range []string{older.RefreshToken, newer.RefreshToken} {
		if f.p.RefreshTokenValid(r) {
			t.Error("a refresh token is still valid at the issuer after logout")
		}
	}
}
