package proxy

import (
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apiserver/pkg/apis/apiserver"

	"github.com/aksoidc/aksoidc/pkg/proxy/authn"
	"github.com/aksoidc/aksoidc/pkg/wellknown"
)

func sourceOf(issuerURL, audience string) authn.Source {
	return authn.Source{Config: &apiserver.AuthenticationConfiguration{JWT: []apiserver.JWTAuthenticator{{
		Issuer: apiserver.Issuer{URL: issuerURL, Audiences: []string{audience}},
	}}}}
}

// TestDiscoveryDocumentFollowsReloads: what the onboarding page shows (Discovery.Document)
// follows a reload of the authentication configuration, and keeps the last good document when
// a reload would publish one a client must not use.
func TestDiscoveryDocumentFollowsReloads(t *testing.T) {
	t.Parallel()
	var current atomic.Pointer[authn.Source]
	src := sourceOf("https://a.example.com", "a")
	current.Store(&src)
	d, err := NewDiscovery(DiscoveryConfig{}, func() authn.Source { return *current.Load() }, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name string
		src  authn.Source
		want wellknown.Document
	}{
		{"at start", src, wellknown.Document{IssuerURL: "https://a.example.com", ClientID: "a"}},
		{"reloaded", sourceOf("https://b.example.com", "b"), wellknown.Document{IssuerURL: "https://b.example.com", ClientID: "b"}},
		{"reloaded with a client ID no client may use", sourceOf("https://c.example.com", "c d"), wellknown.Document{IssuerURL: "https://b.example.com", ClientID: "b"}},
	}
	for _, s := range steps {
		current.Store(&s.src)
		if diff := cmp.Diff(s.want, d.Document()); diff != "" {
			t.Errorf("%s: document (-want +got):\n%s", s.name, diff)
		}
	}
}
