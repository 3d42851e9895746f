package authn_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aksoidc/aksoidc/pkg/proxy/authn"
	"github.com/aksoidc/aksoidc/test/oidctest"
	"github.com/aksoidc/aksoidc/test/poll"
	"github.com/aksoidc/aksoidc/test/syncbuf"
)

// prefixed is an issuer's jwt entry that maps sub to prefix+sub, so that a result shows which
// issuer accepted the token.
func prefixed(iss *oidctest.Issuer, prefix string) string {
	return iss.JWTAuthenticator([]string{"kubernetes"}, "  claimMappings:\n    username:\n      claim: sub\n      prefix: \""+prefix+"\"\n")
}

// TestReloadWhileAnIssuerIsDown: an issuer that is down no longer holds back changes to the
// others, and keeps serving with the keys it has.
func TestReloadWhileAnIssuerIsDown(t *testing.T) {
	issA, issB, issC := oidctest.New(t), oidctest.New(t), oidctest.New(t)
	path := filepath.Join(t.TempDir(), "authn.yaml")
	a, logs := reloading(t, path, oidctest.AuthenticationConfiguration(prefixed(issA, "a:"), prefixed(issB, "b:")))
	// Each check signs new tokens (new subjects), so no token cache can answer: every accepted
	// token was verified by the authenticators in force.
	n := 0
	check := func(step string, want map[*oidctest.Issuer]result) {
		t.Helper()
		n++
		for iss, w := range want {
			sub := fmt.Sprintf("user%d", n)
			got := resultOf(a.Authenticate(context.Background(), iss.Sign(t, iss.Claims(sub, "kubernetes", time.Hour))))
			if w.User != "" {
				w.User += sub
			}
			if diff := cmp.Diff(w, got); diff != "" {
				t.Errorf("%s, issuer %s (-want +got):\n%s", step, iss.URL, diff)
			}
		}
	}
	reloads := func() int { return strings.Count(logs.String(), "authentication config reloaded") }
	check("initial", map[*oidctest.Issuer]result{issA: {User: "a:"}, issB: {User: "b:"}, issC: {Reason: authn.ReasonInvalidToken}})

	issA.SetDown(true)
	writeFile(t, path, oidctest.AuthenticationConfiguration(prefixed(issA, "a:")))
	poll.Until(t, 20*time.Second, func() bool { return reloads() == 1 })
	check("B removed while A is down", map[*oidctest.Issuer]result{issA: {User: "a:"}, issB: {Reason: authn.ReasonInvalidToken}})

	writeFile(t, path, oidctest.AuthenticationConfiguration(prefixed(issA, "a:"), prefixed(issC, "c:")))
	poll.Until(t, 20*time.Second, func() bool { return reloads() == 2 })
	check("C added while A is down", map[*oidctest.Issuer]result{issA: {User: "a:"}, issB: {Reason: authn.ReasonInvalidToken}, issC: {User: "c:"}})
}

// reloading writes config to path and returns a ready authenticator that reloads the file every
// 50ms until the test ends, with its log.
func reloading(t *testing.T, path, config string) (*authn.Authenticator, *syncbuf.Buffer) {
	t.Helper()
	writeFile(t, path, config)
	logs := &syncbuf.Buffer{}
	a := newReady(t, authn.Options{
		ConfigFile: path, ReloadInterval: 50 * time.Millisecond,
		Logger: slog.New(slog.NewJSONHandler(logs, nil)),
	})
	go a.Run(t.Context())
	return a, logs
}
