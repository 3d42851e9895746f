package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/aksoidc/aksoidc/test/oidctest"
	"github.com/google/go-cmp/cmp"
)

func TestDefaultCacheDir(t *testing.T) {
	tmp := t.TempDir()
	cases := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"XDG_CACHE_HOME", map[string]string{"XDG_CACHE_HOME": "/xdg", "HOME": "/home/u"}, "/xdg/kubectl-aksoidc"},
		{"HOME", map[string]string{"XDG_CACHE_HOME": "", "HOME": "/home/u"}, "/home/u/.kube/cache/aksoidc"},
		{"neither: per user in the temp dir", map[string]string{"XDG_CACHE_HOME": "", "HOME": "", "TMPDIR": tmp},
			filepath.Join(tmp, fmt.Sprintf("kubectl-aksoidc-%d", os.Geteuid()))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			if diff := cmp.Diff(tc.want, defaultCacheDir()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestGetTokenWithoutHome: the default dir in the shared temp dir is the
// user's own, created 0700, and it caches.
func TestGetTokenWithoutHome(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", "")
	t.Setenv("TMPDIR", tmp)
	p := oidctest.NewProvider(t, "kubectl")
	r := runCLI(t, nil, "get-token", "--issuer-url", p.URL, "--client-id", p.ClientID,
		"--certificate-authority", p.CAFile, "--grant-type", "device-code", "--token-cache-storage", "file")
	if r.code != 0 {
		t.Fatalf("get-token: %+v", r)
	}
	dir := filepath.Join(tmp, fmt.Sprintf("kubectl-aksoidc-%d", os.Geteuid()))
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("%s has mode %04o, want 0700", dir, fi.Mode().Perm())
	}
	if e := cachedEntry(t, p, dir); e.IDToken == "" {
		t.Error("no ID token cached")
	}
}

// TestGetTokenWithUnsafeCacheDir: a cache dir others may write to is neither
// read nor written, yet kubectl gets its token, with one warning.
func TestGetTokenWithUnsafeCacheDir(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		mode    os.FileMode
		problem string
	}{
		{"world-writable", 0o777, "is writable by other users (mode 0777)"},
		{"group-writable", 0o770, "is writable by other users (mode 0770)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := oidctest.NewProvider(t, "kubectl")
			dir := t.TempDir()
			if err := os.Chmod(dir, tc.mode); err != nil {
				t.Fatal(err)
			}
			got := deviceLogin(t, p, dir, nil)
			want := result{stderr: "warning: token cache dir " + dir + " " + tc.problem +
				": it is not used; fix it or choose another --token-cache-dir\n" +
				"Open " + p.URL + "/device and enter the code ABCD-EFGH to log in.\n"}
			assertCredential(t, got.stdout)
			got.stdout = ""
			if diff := cmp.Diff(want, got, cmp.AllowUnexported(result{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
				t.Errorf("the refused dir holds %v (%v), want nothing", entries, err)
			}
		})
	}
}

func assertCredential(t *testing.T, stdout string) {
	t.Helper()
	var cred struct {
		Kind   string
		Status struct{ Token string }
	}
	if err := json.Unmarshal([]byte(stdout), &cred); err != nil || cred.Kind != "ExecCredential" || cred.Status.Token == "" {
		t.Errorf("stdout is not an ExecCredential with a token (%v): %q", err, stdout)
	}
}

// TestIssuerURLLoopback: plain http is allowed where pkg/wellknown allows it in a discovery
// document (one rule, wellknown.IsLoopbackHost), localhost in any case included.
func TestIssuerURLLoopback(t *testing.T) {
	t.Parallel()
	tests := []struct {
		issuer, want string
	}{
		{"http://127.0.0.1:5556/dex", ""},
		{"http://[::1]:5556", ""},
		{"http://localhost:5556", ""},
		{"http://LocalHost:5556", ""},
		{"https://issuer.example", ""},
		{"http://issuer.example", `--issuer-url "http://issuer.example": plain http is allowed only for a loopback host; use https`},
	}
	for _, tt := range tests {
		got := ""
		if err := validateIssuer(tt.issuer); err != nil {
			got = err.Error()
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("validateIssuer(%q) (-want +got):\n%s", tt.issuer, diff)
		}
	}
}
