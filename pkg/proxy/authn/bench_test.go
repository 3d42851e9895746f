package authn_test

import (
	"context"
	"testing"
	"time"

	"github.com/aksoidc/aksoidc/pkg/proxy/authn"
	"github.com/aksoidc/aksoidc/test/oidctest"
	"github.com/aksoidc/aksoidc/test/poll"
)

// BenchmarkAuthenticateCachedToken is the cost every request pays once its token is verified.
func BenchmarkAuthenticateCachedToken(b *testing.B) {
	iss := oidctest.New(b)
	src, err := authn.FromFlags(authn.OIDCFlags{
		IssuerURL: iss.URL, ClientID: "kubernetes", CAFile: iss.CAFile, UsernameClaim: "sub",
		UsernamePrefix: "oidc:", GroupsClaim: "groups", GroupsPrefix: "oidc:",
	})
	if err != nil {
		b.Fatal(err)
	}
	a, err := authn.New(b.Context(), authn.Options{Source: src, OnCache: func(bool) {}})
	if err != nil {
		b.Fatal(err)
	}
	poll.Until(b, 20*time.Second, func() bool { return a.Ready(b.Context()) == nil })
	c := iss.Claims("alice", "kubernetes", time.Hour)
	c["groups"] = []string{"devs", "ops", "team-a", "team-b", "readers"}
	token := iss.Sign(b, c)
	if _, err := a.Authenticate(context.Background(), token); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Authenticate(context.Background(), token); err != nil {
			b.Fatal(err)
		}
	}
}
