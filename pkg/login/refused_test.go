package login_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aksoidc/aksoidc/pkg/login"
)

func writeFile(dir, name, content string) error {
	return os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600)
}

func TestRefusedLogins(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		setup  func(f *fixture)
		want   string // the whole error message
		prefix bool
	}{
		{
			name:  "wrong audience",
			setup: func(f *fixture) { f.p.SetMutate(func(c map[string]any) { c["aud"] = "someone-else" }) },
			want:  `verify ID token: oidc: expected audience "kubectl" got ["someone-else"]`,
		},
		{
			name:   "wrong issuer",
			setup:  func(f *fixture) { f.p.SetMutate(func(c map[string]any) { c["iss"] = "https://evil.example" }) },
			want:   "verify ID token: oidc: id token issued by a different provider, expected ",
			prefix: true,
		},
		{
			name:  "wrong nonce",
			setup: func(f *fixture) { f.p.SetMutate(func(c map[string]any) { c["nonce"] = "replayed" }) },
			want:  "verify ID token: claim nonce does not match the one this login sent",
		},
		{
			name: "expired token from the issuer",
			setup: func(f *fixture) {
				f.p.SetMutate(func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() })
			},
			want:   "verify ID token: oidc: token is expired (Token Expiry: ",
			prefix: true,
		},
		{
			name:  "state mismatch on the callback",
			setup: func(f *fixture) { f.p.SetForgeState(true) },
			want:  "browser login: the state parameter of the callback does not match this login (a stale or forged redirect)",
		},
		{
			name:  "wrong client ID",
			setup: func(f *fixture) { f.cfg.ClientID = "unknown" },
			want:  "the issuer refused the authorization request (HTTP 400 Bad Request): check --client-id and the redirect URIs the client allows",
		},
		{
			name:   "unreachable issuer",
			setup:  func(f *fixture) { f.cfg.IssuerURL = "https://" + freePort(t) },
			want:   "--issuer-url https://127.0.0.1:",
			prefix: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			tc.setup(f)
			_, err := login.GetToken(context.Background(), f.cfg, f.deps)
			if err == nil {
				t.Fatal("GetToken succeeded")
			}
			got := err.Error()
			if strings.Contains(got, "\n") {
				t.Errorf("error spans lines: %q", got)
			}
			if (tc.prefix && !strings.HasPrefix(got, tc.want)) || (!tc.prefix && got != tc.want) {
				t.Errorf("error = %q\nwant %q (prefix %v)", got, tc.want, tc.prefix)
			}
			if _, err := f.store.Load(f.cfg.CacheKey().ID()); err == nil {
				t.Error("a refused token was cached")
			}
		})
	}
}

func TestTokensNeverReachStderr(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.cfg.Log.Verbosity = 10
	f.getToken(t)
	first := f.cached(t)
	f.cfg.MinValidity = time.Hour
	f.getToken(t)
	second := f.cached(t)
	out := f.stderr.String()
	if out == "" {
		t.Fatal("nothing was logged at -v 10")
	}
	for _, e := range []struct{ name, v string }{
		{"ID token", first.IDToken}, {"access token", first.AccessToken}, {"refresh token", first.RefreshToken},
		{"refreshed ID token", second.IDToken}, {"rotated refresh token", second.RefreshToken},
	} {
		if strings.Contains(out, e.v) {
			t.Errorf("the %s appears in stderr", e.name)
		}
	}
}
