package plugin_test

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aksoidc/aksoidc/pkg/tokencache"
	"github.com/aksoidc/aksoidc/test/dextest"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/plugin/pkg/client/auth/exec"
	"k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/client-go/transport"
)

// TestExecCredentialContract checks what kubectl reads: the apiVersion
// mirrors KUBERNETES_EXEC_INFO (v1beta1 without it), client-go decodes the
// answer, stdout holds nothing else, and at -v 10, through a login and a
// refresh, no token reaches stderr.
func TestExecCredentialContract(t *testing.T) {
	t.Parallel()
	dex := dextest.Start(t, dextest.Options{IDTokenExpiry: 10 * time.Second})
	b := newBrowser(t)
	dir := t.TempDir()
	args := getToken(dex.IssuerURL, dex.ClientID, dir, "--browser-command", b.command,
		"--listen-address", "127.0.0.1:0", "--token-cache-storage", "file", "--min-validity", "1s", "-v", "10")
	var stderrs []string
	for _, tc := range []struct {
		name string
		env  []string
		want schema.GroupVersion
	}{
		// The first run logs in: the browser flow works non-interactively.
		{name: "v1 non-interactive", env: []string{execInfo(v1.String(), false)}, want: v1},
		{name: "v1beta1 non-interactive", env: []string{execInfo(v1beta1.String(), false)}, want: v1beta1},
		{name: "v1 interactive", env: []string{execInfo(v1.String(), true)}, want: v1},
		{name: "no KUBERNETES_EXEC_INFO", want: v1beta1},
	} {
		r := invocation{args: args, env: tc.env}.run(t)
		stderrs = append(stderrs, r.stderr)
		if r.exitCode != 0 {
			t.Fatalf("%s: exit code %d, stderr:\n%s", tc.name, r.exitCode, r.stderr)
		}
		verifyCredential(t, dex.IssuerURL, dex.ClientID, r.stdout, tc.want)
	}
	login := readEntry(t, dir, dex.IssuerURL, dex.ClientID)

	waitUntilExpired(t, login.Expiry)
	r := invocation{args: args, env: []string{execInfo(v1.String(), false)}}.run(t)
	stderrs = append(stderrs, r.stderr)
	if r.exitCode != 0 {
		t.Fatalf("refresh: exit code %d, stderr:\n%s", r.exitCode, r.stderr)
	}
	refreshed := readEntry(t, dir, dex.IssuerURL, dex.ClientID)
	if refreshed.RefreshToken == login.RefreshToken || refreshed.IDToken == login.IDToken {
		t.Fatalf("the run after expiry did not refresh: the cache entry is unchanged")
	}

	stderr := strings.Join(stderrs, "")
	// -v 10 must really have logged the HTTP traffic, or this check proves nothing.
	for _, want := range []string{"GET " + dex.IssuerURL + "/.well-known/openid-configuration: 200 OK", "POST " + dex.IssuerURL + "/token: 200 OK"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr at -v 10 lacks %q:\n%s", want, stderr)
		}
	}
	for name, secret := range map[string]string{
		"ID token": login.IDToken, "access token": login.AccessToken, "refresh token": login.RefreshToken,
		"refreshed ID token": refreshed.IDToken, "refreshed access token": refreshed.AccessToken, "rotated refresh token": refreshed.RefreshToken,
	} {
		if secret == "" {
			t.Errorf("the cache entry has no %s to look for", name)
		} else if strings.Contains(stderr, secret) {
			t.Errorf("stderr at -v 10 contains the %s", name)
		}
	}
}

// readEntry reads the file cache entry get-token wrote with default scopes.
func readEntry(t *testing.T, dir, issuerURL, clientID string) tokencache.Entry {
	t.Helper()
	id := keyOf(issuerURL, clientID).ID()
	e, err := tokencache.FileStore{Dir: dir}.Load(id)
	if err != nil {
		t.Fatalf("read the cache entry %s: %v", filepath.Join(dir, id+".json"), err)
	}
	return e
}

// TestClientGoExecAuthenticator lets client-go's own exec authenticator run
// the plugin, as kubectl does, and checks the request it authenticates
// carries the plugin's token.
func TestClientGoExecAuthenticator(t *testing.T) {
	t.Parallel()
	dex := dextest.Start(t, dextest.Options{})
	b := newBrowser(t)
	for _, apiVersion := range []schema.GroupVersion{v1, v1beta1} {
		t.Run(apiVersion.Version, func(t *testing.T) {
			got := make(chan string, 1)
			apiServer := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				got <- r.Header.Get("Authorization")
			}))
			t.Cleanup(apiServer.Close)
			a, err := exec.GetAuthenticator(&api.ExecConfig{
				Command:         pluginPath,
				Args:            getToken(dex.IssuerURL, dex.ClientID, t.TempDir(), "--browser-command", b.command, "--listen-address", "127.0.0.1:0", "--token-cache-storage", "file"),
				APIVersion:      apiVersion.String(),
				InteractiveMode: api.NeverExecInteractiveMode,
			}, nil)
			if err != nil {
				t.Fatalf("client-go exec authenticator: %v", err)
			}
			var tc transport.Config
			if err := a.UpdateTransportConfig(&tc); err != nil {
				t.Fatalf("client-go exec authenticator: %v", err)
			}
			rt, err := transport.New(&tc)
			if err != nil {
				t.Fatalf("client-go transport: %v", err)
			}
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, apiServer.URL, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatalf("request through client-go's exec authenticator: %v", err)
			}
			_ = resp.Body.Close()
			token, ok := strings.CutPrefix(<-got, "Bearer ")
			if !ok {
				t.Fatalf("the request carries no bearer token")
			}
			verifyIDToken(t, dex.IssuerURL, dex.ClientID, token)
		})
	}
}
