package login_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/aksoidc/aksoidc/internal/jwtclaims"
	"github.com/aksoidc/aksoidc/pkg/login"
	"github.com/aksoidc/aksoidc/pkg/tokencache"
	"github.com/aksoidc/aksoidc/test/oidctest"
	"github.com/aksoidc/aksoidc/test/syncbuf"
	"github.com/aksoidc/aksoidc/test/testpki"
)

// httpBrowser plays the user's browser: it follows the login redirects. The
// fake provider logs the user in without showing a page.
type httpBrowser struct {
	client *http.Client
	t      *testing.T
}

func (b httpBrowser) Open(ctx context.Context, url string) error {
	go func() {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			b.t.Error(err)
			return
		}
		if resp, err := b.client.Do(req); err == nil {
			_ = resp.Body.Close()
		}
	}()
	return nil
}

func trustingClient(t *testing.T, caPEM []byte) *http.Client {
	t.Helper()
	return &http.Client{Transport: &http.Transport{TLSClientConfig: testpki.ClientConfig(t, caPEM)}}
}

type fixture struct {
	p      *oidctest.Provider
	cfg    login.Config
	deps   login.Deps
	store  tokencache.FileStore
	stderr *syncbuf.Buffer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	p := oidctest.NewProvider(t, "kubectl")
	stderr := &syncbuf.Buffer{}
	client := trustingClient(t, p.CAPEM)
	store := tokencache.FileStore{Dir: t.TempDir()}
	return &fixture{
		p: p, store: store, stderr: stderr,
		cfg: login.Config{
			Settings:    login.Settings{IssuerURL: p.URL, ClientID: "kubectl", GrantType: login.AuthCode},
			MinValidity: time.Minute, LoginTimeout: 10 * time.Second,
			ListenAddresses: []string{"127.0.0.1:0"}, RedirectURL: login.OOBRedirectURL,
			Browser: httpBrowser{client: client, t: t}, Interactive: true, HTTPClient: client,
			Stderr: stderr, Log: login.Logger{W: stderr, Verbosity: 10},
		},
		deps: login.Deps{
			Cache: store,
			Lock: func(ctx context.Context, id string) (func(), error) {
				return tokencache.Lock(ctx, store.Dir, id)
			},
		},
	}
}

func (f *fixture) getToken(t *testing.T) login.Token {
	t.Helper()
	tok, err := login.GetToken(context.Background(), f.cfg, f.deps)
	if err != nil {
		t.Fatalf("GetToken: %v\nstderr:\n%s", err, f.stderr)
	}
	return tok
}

func (f *fixture) cached(t *testing.T) tokencache.Entry {
	t.Helper()
	e, err := f.store.Load(f.cfg.CacheKey().ID())
	if err != nil {
		t.Fatalf("cache entry: %v", err)
	}
	return e
}

func claimsOf(t *testing.T, jwt string) map[string]any {
	t.Helper()
	var c map[string]any
	if err := jwtclaims.Decode(jwt, &c); err != nil {
		t.Fatal(err)
	}
	return c
}
