package authn_test

import (
	"context"
	"encoding/pem"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aksoidc/aksoidc/pkg/proxy/authn"
	"github.com/aksoidc/aksoidc/test/oidctest"
	"github.com/aksoidc/aksoidc/test/poll"
	"github.com/aksoidc/aksoidc/test/syncbuf"
)

// result is what a test compares: who, or why not.
type result struct {
	User   string
	Groups []string
	Reason authn.Reason
}

func resultOf(id authn.Identity, err error) result {
	if err != nil {
		return result{Reason: authn.ReasonOf(err)}
	}
	return result{User: id.User.GetName(), Groups: id.User.GetGroups()}
}

func flagSource(t *testing.T, iss *oidctest.Issuer) authn.Source {
	t.Helper()
	src, err := authn.FromFlags(authn.OIDCFlags{
		IssuerURL:      iss.URL,
		ClientID:       "kubernetes",
		CAFile:         iss.CAFile,
		UsernameClaim:  "sub",
		UsernamePrefix: "oidc:",
		GroupsClaim:    "groups",
		GroupsPrefix:   "oidc:",
		RequiredClaims: map[string]string{"tenant": "t1"},
		SigningAlgs:    []string{"RS256"},
	})
	if err != nil {
		t.Fatalf("FromFlags: %v", err)
	}
	return src
}

func newReady(t *testing.T, opts authn.Options) *authn.Authenticator {
	t.Helper()
	a, err := authn.New(t.Context(), opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	waitReady(t, a)
	return a
}

func waitReady(t *testing.T, a *authn.Authenticator) {
	t.Helper()
	var err error
	t.Cleanup(func() {
		if t.Failed() && err != nil {
			t.Logf("the authenticator's last readiness error: %v", err)
		}
	})
	poll.Until(t, 20*time.Second, func() bool {
		err = a.Ready(t.Context())
		return err == nil
	})
}

func TestAuthenticateFromFlags(t *testing.T) {
	iss := oidctest.New(t)
	other := oidctest.New(t)
	a := newReady(t, authn.Options{Source: flagSource(t, iss)})
	// Where an Entra ID overage token sends the authenticator for its groups: Microsoft Graph
	// refuses it, as the token carries no access token for it.
	graph := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
	}))
	t.Cleanup(graph.Close)
	overage := func(c map[string]any) {
		delete(c, "groups")
		c["_claim_names"] = map[string]any{"groups": "src1"}
		c["_claim_sources"] = map[string]any{"src1": map[string]any{"endpoint": graph.URL + "/users/alice/getMemberObjects"}}
	}
	good := func(mutate func(map[string]any)) map[string]any { return aliceClaims(iss, mutate) }
	tests := []struct {
		name  string
		token string
		want  result
	}{
		{"valid token", iss.Sign(t, good(nil)), result{User: "oidc:alice", Groups: []string{"oidc:devs"}}},
		{"expired", iss.Sign(t, good(func(c map[string]any) { c["exp"] = time.Now().Add(-2 * time.Minute).Unix() })), result{Reason: authn.ReasonExpired}},
		{"not yet valid", iss.Sign(t, good(func(c map[string]any) { c["nbf"] = time.Now().Add(time.Hour).Unix() })), result{Reason: authn.ReasonInvalidToken}},
		{"wrong issuer", other.Sign(t, good(func(c map[string]any) { c["iss"] = other.URL })), result{Reason: authn.ReasonInvalidToken}},
		{"issuer claim of another issuer, signed by ours", iss.Sign(t, good(func(c map[string]any) { c["iss"] = other.URL })), result{Reason: authn.ReasonInvalidToken}},
		{"wrong audience", iss.Sign(t, good(func(c map[string]any) { c["aud"] = "other" })), result{Reason: authn.ReasonInvalidToken}},
		{"unknown key", iss.SignMode(t, oidctest.UnknownKey, good(nil)), result{Reason: authn.ReasonInvalidToken}},
		{"alg none", iss.SignMode(t, oidctest.None, good(nil)), result{Reason: authn.ReasonInvalidToken}},
		{"HS256 keyed with the public key", iss.SignMode(t, oidctest.HS256WithPublicKey, good(nil)), result{Reason: authn.ReasonInvalidToken}},
		{"required claim missing", iss.Sign(t, good(func(c map[string]any) { delete(c, "tenant") })), result{Reason: authn.ReasonInvalidToken}},
		{"required claim with another value", iss.Sign(t, good(func(c map[string]any) { c["tenant"] = "t2" })), result{Reason: authn.ReasonInvalidToken}},
		{"system:masters group is harmless once prefixed", iss.Sign(t, good(func(c map[string]any) { c["groups"] = []string{"system:masters"} })), result{User: "oidc:alice", Groups: []string{"oidc:system:masters"}}},
		{"Entra ID groups overage", iss.Sign(t, good(overage)), result{Reason: authn.ReasonDistributedClaims}},
		{"malformed JWT", "not.a.jwt", result{Reason: authn.ReasonInvalidToken}},
		{"empty bearer", "", result{Reason: authn.ReasonNoToken}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := resultOf(a.Authenticate(context.Background(), tt.token))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func unprefixedSource(t *testing.T, iss *oidctest.Issuer) authn.Source {
	t.Helper()
	src, err := authn.FromFlags(authn.OIDCFlags{
		IssuerURL: iss.URL, ClientID: "kubernetes", CAFile: iss.CAFile,
		UsernameClaim: "sub", UsernamePrefix: "-", GroupsClaim: "groups",
	})
	if err != nil {
		t.Fatalf("FromFlags: %v", err)
	}
	return src
}

func TestReservedIdentities(t *testing.T) {
	iss := oidctest.New(t)
	tokenFor := func(sub string, groups ...string) string {
		c := iss.Claims(sub, "kubernetes", time.Hour)
		c["groups"] = groups
		return iss.Sign(t, c)
	}
	tests := []struct {
		name  string
		allow bool
		token string
		want  result
	}{
		{"ordinary user", false, tokenFor("alice", "devs"), result{User: "alice", Groups: []string{"devs"}}},
		{"system:masters group", false, tokenFor("alice", "devs", "system:masters"), result{Reason: authn.ReasonReservedIdentity}},
		{"system: username", false, tokenFor("system:kube-controller-manager"), result{Reason: authn.ReasonReservedIdentity}},
		{"service-account username", false, tokenFor("system:serviceaccount:kube-system:default"), result{Reason: authn.ReasonReservedIdentity}},
		{"system:masters group when allowed", true, tokenFor("alice", "system:masters"), result{User: "alice", Groups: []string{"system:masters"}}},
	}
	refuse := newReady(t, authn.Options{Source: unprefixedSource(t, iss)})
	allow := newReady(t, authn.Options{Source: unprefixedSource(t, iss), AllowSystemIdentities: true})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := refuse
			if tt.allow {
				a = allow
			}
			got := resultOf(a.Authenticate(context.Background(), tt.token))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestCachedTokenNeverOutlivesItsExpiry(t *testing.T) {
	iss := oidctest.New(t)
	var mu sync.Mutex
	now := time.Now()
	var hits []bool
	a := newReady(t, authn.Options{
		Source:  unprefixedSource(t, iss),
		Now:     func() time.Time { mu.Lock(); defer mu.Unlock(); return now },
		OnCache: func(hit bool) { hits = append(hits, hit) },
	})
	token := iss.Sign(t, iss.Claims("alice", "kubernetes", 2*time.Minute))
	first := resultOf(a.Authenticate(context.Background(), token))
	second := resultOf(a.Authenticate(context.Background(), token))
	mu.Lock()
	now = now.Add(3 * time.Minute) // past exp, well inside the cache TTL
	mu.Unlock()
	third := resultOf(a.Authenticate(context.Background(), token))
	want := []result{{User: "alice", Groups: nil}, {User: "alice", Groups: nil}, {Reason: authn.ReasonExpired}}
	if diff := cmp.Diff(want, []result{first, second, third}); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]bool{false, true, true}, hits); diff != "" {
		t.Errorf("cache hits (-want +got):\n%s", diff)
	}
}

func TestLogsNeverContainTokens(t *testing.T) {
	iss := oidctest.New(t)
	a := newReady(t, authn.Options{Source: unprefixedSource(t, iss)})
	var logs syncbuf.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	tokens := []string{
		iss.SignMode(t, oidctest.None, iss.Claims("alice", "kubernetes", time.Hour)),
		iss.Sign(t, iss.Claims("alice", "kubernetes", -time.Hour)),
		iss.SignMode(t, oidctest.HS256WithPublicKey, iss.Claims("alice", "kubernetes", time.Hour)),
		"garbage-token-value",
	}
	for _, tok := range tokens {
		_, err := a.Authenticate(context.Background(), tok)
		if err == nil {
			t.Fatalf("a bad token was accepted")
		}
		log.Error("refused", "error", err)
		for _, part := range strings.Split(tok, ".") {
			if len(part) > 8 && strings.Contains(logs.String(), part) {
				t.Errorf("log contains part of the token: %s", logs.String())
			}
		}
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

func fileConfig(iss1, iss2 *oidctest.Issuer, usernameExpr string) string {
	return oidctest.AuthenticationConfiguration(
		iss1.JWTAuthenticator([]string{"kubernetes"}, `  claimMappings:
    username:
      expression: `+usernameExpr+`
`),
		iss2.JWTAuthenticator([]string{"other-cluster", "kubernetes"}, `    audienceMatchPolicy: MatchAny
  claimMappings:
    username:
      claim: sub
      prefix: "second:"
  claimValidationRules:
  - expression: 'claims.tenant == "t1"'
    message: wrong tenant
`))
}

func TestAuthenticationConfigFileAndReload(t *testing.T) {
	iss1, iss2 := oidctest.New(t), oidctest.New(t)
	path := filepath.Join(t.TempDir(), "authn.yaml")
	a, logs := reloading(t, path, fileConfig(iss1, iss2, `'"first:" + claims.sub'`))
	c1 := iss1.Claims("u1", "kubernetes", time.Hour)
	c2 := iss2.Claims("bob", "kubernetes", time.Hour)
	c2["tenant"] = "t1"
	c2wrong := iss2.Claims("bob", "kubernetes", time.Hour)
	c2wrong["tenant"] = "t2"
	check := func(step string, want []result) {
		t.Helper()
		got := []result{
			resultOf(a.Authenticate(context.Background(), iss1.Sign(t, c1))),
			resultOf(a.Authenticate(context.Background(), iss2.Sign(t, c2))),
			resultOf(a.Authenticate(context.Background(), iss2.Sign(t, c2wrong))),
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", step, diff)
		}
	}
	check("initial", []result{
		{User: "first:u1", Groups: nil},
		{User: "second:bob", Groups: nil},
		{Reason: authn.ReasonInvalidToken},
	})

	writeFile(t, path, "apiVersion: apiserver.config.k8s.io/v1\nkind: AuthenticationConfiguration\njwt:\n- issuer: {url: http://insecure}\n")
	poll.Until(t, 20*time.Second, func() bool { return strings.Contains(logs.String(), "authentication config is invalid") })
	check("after a broken file", []result{
		{User: "first:u1", Groups: nil},
		{User: "second:bob", Groups: nil},
		{Reason: authn.ReasonInvalidToken},
	})

	writeFile(t, path, fileConfig(iss1, iss2, `'"renamed:" + claims.sub'`))
	poll.Until(t, 20*time.Second, func() bool { return strings.Contains(logs.String(), "authentication config reloaded") })
	check("after a good file", []result{
		{User: "renamed:u1", Groups: nil},
		{User: "second:bob", Groups: nil},
		{Reason: authn.ReasonInvalidToken},
	})
}

func TestConfigErrorsNameTheSource(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		file    string
		data    string
		wantSub string
	}{
		{"missing file", filepath.Join(dir, "absent.yaml"), "", "read --authentication-config"},
		{"unknown field", filepath.Join(dir, "unknown.yaml"), "apiVersion: apiserver.config.k8s.io/v1\nkind: AuthenticationConfiguration\njwtt: []\n", "unknown field"},
		{"http issuer", filepath.Join(dir, "http.yaml"), "apiVersion: apiserver.config.k8s.io/v1\nkind: AuthenticationConfiguration\njwt:\n- issuer: {url: http://example.test, audiences: [a]}\n  claimMappings: {username: {claim: sub, prefix: \"\"}}\n", "https"},
		{"a reserved extra key", filepath.Join(dir, "extra.yaml"), "apiVersion: apiserver.config.k8s.io/v1\nkind: AuthenticationConfiguration\njwt:\n- issuer: {url: https://example.test, audiences: [a]}\n" +
			"  claimMappings:\n    username: {claim: sub, prefix: \"\"}\n    extra:\n    - {key: aksoidc.io/upn, valueExpression: claims.upn}\n",
			`jwt[0].claimMappings.extra[0].key "aksoidc.io/upn": keys under aksoidc.io/ are set only by the proxy; use your own domain, such as example.com/upn`},
		{"bad CEL", filepath.Join(dir, "cel.yaml"), "apiVersion: apiserver.config.k8s.io/v1\nkind: AuthenticationConfiguration\njwt:\n- issuer: {url: https://example.test, audiences: [a]}\n  claimMappings: {username: {expression: 'claims.'}}\n", "compilation failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.data != "" {
				writeFile(t, tt.file, tt.data)
			}
			_, _, err := authn.LoadFile(tt.file)
			if err == nil || !strings.Contains(err.Error(), tt.wantSub) || !strings.Contains(err.Error(), "authentication-config") {
				t.Errorf("LoadFile error = %v, want it to name the flag and contain %q", err, tt.wantSub)
			}
		})
	}
	_, err := authn.FromFlags(authn.OIDCFlags{IssuerURL: "http://example.test", ClientID: "k", UsernameClaim: "sub"})
	if err == nil || !strings.Contains(err.Error(), "--oidc-* flags") {
		t.Errorf("FromFlags with an http issuer: error = %v, want one naming the flags", err)
	}
}

func TestNotReadyWhileTheIssuerIsDown(t *testing.T) {
	iss := oidctest.New(t)
	// The issuer is down: it answers 503, and says when it was first asked.
	asked := make(chan struct{})
	var once sync.Once
	down := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		once.Do(func() { close(asked) })
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	t.Cleanup(down.Close)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	writeFile(t, caFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: down.Certificate().Raw})))
	src, err := authn.FromFlags(authn.OIDCFlags{
		IssuerURL: down.URL, ClientID: "kubernetes", CAFile: caFile, UsernameClaim: "sub",
	})
	if err != nil {
		t.Fatal(err)
	}
	a, err := authn.New(t.Context(), authn.Options{Source: src})
	if err != nil {
		t.Fatal(err)
	}
	select { // the first discovery attempt reached the issuer; it has failed or is failing
	case <-asked:
	case <-time.After(20 * time.Second):
		t.Fatal("the authenticator never asked the issuer for its discovery document")
	}
	if err := a.Ready(t.Context()); err == nil {
		t.Errorf("Ready() = nil with the issuer down, want an error")
	}
	_, err = a.Authenticate(context.Background(), iss.Sign(t, iss.Claims("alice", "kubernetes", time.Hour)))
	if got := authn.ReasonOf(err); got != authn.ReasonInvalidToken {
		t.Errorf("Authenticate with the issuer down: reason %q, want %q", got, authn.ReasonInvalidToken)
	}
}

func TestParseAcceptsV1AndV1beta1(t *testing.T) {
	doc := "kind: AuthenticationConfiguration\njwt:\n- issuer: {url: https://127.0.0.1:1, audiences: [kubernetes]}\n  claimMappings: {username: {claim: sub, prefix: \"oidc:\"}}\n"
	for _, version := range []string{"apiserver.config.k8s.io/v1", "apiserver.config.k8s.io/v1beta1"} {
		t.Run(version, func(t *testing.T) {
			src, err := authn.Parse([]byte("apiVersion: " + version + "\n" + doc))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got := []string{src.Config.JWT[0].Issuer.URL, *src.Config.JWT[0].ClaimMappings.Username.Prefix}
			if diff := cmp.Diff([]string{"https://127.0.0.1:1", "oidc:"}, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// aliceClaims are claims of alice in group devs that flagSource's configuration accepts
// (tenant t1), changed by mutate unless it is nil.
func aliceClaims(iss *oidctest.Issuer, mutate func(map[string]any)) map[string]any {
	c := iss.Claims("alice", "kubernetes", time.Hour)
	c["tenant"], c["groups"] = "t1", []string{"devs"}
	if mutate != nil {
		mutate(c)
	}
	return c
}

// TestAuthenticationNamesTheIssuer: an accepted token names the configured issuer that signed
// it and a refused one the configured issuer it claims (the metrics' issuer label); a token
// naming any other issuer names none, so a client cannot invent label values.
func TestAuthenticationNamesTheIssuer(t *testing.T) {
	iss1, iss2 := oidctest.New(t), oidctest.New(t)
	a, _ := reloading(t, filepath.Join(t.TempDir(), "authn.yaml"), fileConfig(iss1, iss2, `'"first:" + claims.sub'`))
	wrongTenant := iss2.Claims("bob", "kubernetes", time.Hour)
	wrongTenant["tenant"] = "t2"
	forged := iss1.Claims("u1", "kubernetes", time.Hour)
	forged["iss"] = "https://attacker.example/\x1b[31m"
	tests := []struct {
		name  string
		token string
		want  string
	}{
		{"accepted from the first issuer", iss1.Sign(t, iss1.Claims("u1", "kubernetes", time.Hour)), iss1.URL},
		{"refused, claiming the second issuer", iss2.Sign(t, wrongTenant), iss2.URL},
		{"refused, naming an issuer not configured", iss1.Sign(t, forged), ""},
		{"refused, not a JWT", "junk", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := a.Authenticate(t.Context(), tt.token)
			got := id.Issuer
			if e, ok := errors.AsType[*authn.Error](err); ok {
				got = e.Issuer
			}
			if got != tt.want {
				t.Errorf("issuer %q, want %q (err %v)", got, tt.want, err)
			}
		})
	}
}
