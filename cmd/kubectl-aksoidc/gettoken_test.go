package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aksoidc/aksoidc/pkg/login"
	"github.com/aksoidc/aksoidc/pkg/tokencache"
	"github.com/aksoidc/aksoidc/test/oidctest"
	"github.com/google/go-cmp/cmp"
)

// deviceLogin runs get-token with the device flow, which the fake provider
// approves without a browser.
func deviceLogin(t *testing.T, p *oidctest.Provider, dir string, env map[string]string, extra ...string) result {
	t.Helper()
	args := append([]string{"get-token", "--issuer-url", p.URL, "--client-id", p.ClientID,
		"--certificate-authority", p.CAFile, "--grant-type", "device-code",
		"--token-cache-storage", "file", "--token-cache-dir", dir}, extra...)
	return runCLI(t, env, args...)
}

func cachedEntry(t *testing.T, p *oidctest.Provider, dir string) tokencache.Entry {
	t.Helper()
	key := login.Settings{IssuerURL: p.URL, ClientID: p.ClientID, GrantType: login.DeviceCode}.CacheKey()
	e, err := tokencache.FileStore{Dir: dir}.Load(key.ID())
	if err != nil {
		t.Fatalf("cache entry: %v", err)
	}
	return e
}

func TestGetTokenPrintsExecCredential(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, execInfo, apiVersion string }{
		{"v1", `{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","spec":{"interactive":true}}`, apiV1},
		{"v1beta1", `{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","spec":{"interactive":true}}`, apiV1beta1},
		{"no exec info", "", apiV1beta1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := oidctest.NewProvider(t, "kubectl")
			dir := t.TempDir()
			got := deviceLogin(t, p, dir, map[string]string{execInfoEnv: tc.execInfo})
			e := cachedEntry(t, p, dir)
			want := result{
				code: 0,
				stdout: fmt.Sprintf(`{"apiVersion":%q,"kind":"ExecCredential","status":{"expirationTimestamp":%q,"token":%q}}`+"\n",
					tc.apiVersion, e.Expiry.UTC().Format(time.RFC3339), e.IDToken),
				stderr: "Open " + p.URL + "/device and enter the code ABCD-EFGH to log in.\n",
			}
			if diff := cmp.Diff(want, got, cmp.AllowUnexported(result{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestNonInteractiveDeviceLoginFailsFast(t *testing.T) {
	t.Parallel()
	p := oidctest.NewProvider(t, "kubectl")
	env := map[string]string{execInfoEnv: `{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","spec":{"interactive":false}}`}
	got := deviceLogin(t, p, t.TempDir(), env)
	want := result{code: 1, stderr: "kubectl-aksoidc: device-code login: this login needs a terminal, but kubectl runs the plugin " +
		"non-interactively; run `kubectl aksoidc get-token` with the same flags in a terminal to log in, then retry\n"}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(result{})); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestWhoamiAndLogoutFindGetTokensEntry: whoami and logout find the entry get-token wrote
// for the same settings, however the flags order or repeat the scopes and parameters.
func TestWhoamiAndLogoutFindGetTokensEntry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		getToken, use []string // flags besides issuer, client, grant and cache
	}{
		{name: "same flags"},
		{
			name: "scopes reordered and repeated, openid named, parameters reordered",
			getToken: []string{"--extra-scope", "groups", "--extra-scope", "email", "--extra-scope", "groups",
				"--auth-request-extra-param", "a=1", "--auth-request-extra-param", "b=2"},
			use: []string{"--extra-scope", "email", "--extra-scope", "openid", "--extra-scope", "groups",
				"--auth-request-extra-param", "b=2", "--auth-request-extra-param", "a=1", "--extra-scope", "offline_access"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := oidctest.NewProvider(t, "kubectl")
			dir := t.TempDir()
			if r := deviceLogin(t, p, dir, nil, tt.getToken...); r.code != 0 {
				t.Fatalf("login: %+v", r.stderr)
			}
			flags := append([]string{"--issuer-url", p.URL, "--client-id", "kubectl", "--grant-type", "device-code",
				"--certificate-authority", p.CAFile, "--token-cache-storage", "file", "--token-cache-dir", dir}, tt.use...)
			who := runCLI(t, nil, append([]string{"whoami"}, flags...)...)
			want := fmt.Sprintf("Issuer:  %s\nSubject: alice\nName:    \nEmail:   alice@example.com\nGroups:  devs\nExpiry:  ", p.URL)
			if who.code != 0 || !strings.HasPrefix(who.stdout, want) {
				t.Errorf("whoami = %+v\nwant stdout starting %q", who, want)
			}
			other := runCLI(t, nil, append([]string{"whoami", "--auth-request-extra-param", "c=3"}, flags...)...)
			notFound := result{code: 1, stderr: "kubectl-aksoidc: no cached token for these settings; run get-token to log in\n"}
			if diff := cmp.Diff(notFound, other, cmp.AllowUnexported(result{})); diff != "" {
				t.Errorf("whoami with another parameter (-want +got):\n%s", diff)
			}
			out := runCLI(t, nil, append([]string{"logout"}, flags...)...)
			removed := "Removed the cached token; the identity provider offers no revocation, so its refresh token stays valid there until it expires.\n"
			if diff := cmp.Diff(result{stderr: removed}, out, cmp.AllowUnexported(result{})); diff != "" {
				t.Errorf("logout (-want +got):\n%s", diff)
			}
			who = runCLI(t, nil, append([]string{"whoami"}, flags...)...)
			if diff := cmp.Diff(notFound, who, cmp.AllowUnexported(result{})); diff != "" {
				t.Errorf("whoami after logout (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPrintIdentityExpired(t *testing.T) {
	t.Parallel()
	// header.payload.signature; the signature is not checked for display.
	tok := "e30.eyJpc3MiOiJodHRwczovL2kiLCJzdWIiOiJib2IiLCJleHAiOjE3MDAwMDAwMDAsImdyb3VwcyI6WyJhIiwiYiJdfQ.c2ln"
	var b bytes.Buffer
	if err := printIdentity(&b, tokencache.Entry{IDToken: tok}, time.Unix(1700000001, 0)); err != nil {
		t.Fatal(err)
	}
	want := "Issuer:  https://i\nSubject: bob\nName:    \nEmail:   \nGroups:  a, b\nExpiry:  2023-11-14T22:13:20Z (expired; get-token refreshes it)\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestUnusableCacheDirStillGivesAToken: where the cache directory cannot be used (here a file
// stands in its place; a read-only home does the same), kubectl still gets the token and the
// user one warning; the next call logs in again.
func TestUnusableCacheDirStillGivesAToken(t *testing.T) {
	t.Parallel()
	p := oidctest.NewProvider(t, "kubectl")
	blocker := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(blocker, "cache")
	for i := 1; i <= 2; i++ {
		got := deviceLogin(t, p, dir, nil)
		lines := strings.Split(strings.TrimSuffix(got.stderr, "\n"), "\n")
		if got.code != 0 || !strings.Contains(got.stdout, `"token":"ey`) {
			t.Fatalf("run %d: exit %d, stdout %q, stderr %q; want the ExecCredential", i, got.code, got.stdout, got.stderr)
		}
		want := []string{"warning: token cache dir: lstat " + dir + ": not a directory: it is not used; fix it or choose another --token-cache-dir",
			"Open " + p.URL + "/device and enter the code ABCD-EFGH to log in."}
		if diff := cmp.Diff(want, lines); diff != "" {
			t.Errorf("run %d: stderr (-want +got):\n%s", i, diff)
		}
		if p.Logins() != i {
			t.Errorf("run %d: %d logins, want %d", i, p.Logins(), i)
		}
	}
}
