package proxy

import (
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync/atomic"

	"k8s.io/apiserver/pkg/apis/apiserver"

	"github.com/aksoidc/aksoidc/pkg/proxy/authn"
	"github.com/aksoidc/aksoidc/pkg/wellknown"
)

// DiscoveryConfig is what the operator fixed of the discovery document (the --discovery-*
// flags); what it leaves empty follows the authentication configuration in force.
type DiscoveryConfig struct {
	IssuerURL, ClientID string
	// ExtraScopes, when ExtraScopesSet (even to none), replace the scopes worked out from the
	// claims the configuration reads: an operator may know the issuer better than authn.NeedsOf.
	ExtraScopes    []string
	ExtraScopesSet bool
	CAData         []byte
}

// Document is the discovery document for src: by default its first issuer and that issuer's
// first audience, and the scopes and claims the named issuer's configuration needs.
func (c DiscoveryConfig) Document(src authn.Source) wellknown.Document {
	doc := wellknown.Document{IssuerURL: c.IssuerURL, ClientID: c.ClientID, CertificateAuthorityData: c.CAData}
	first := src.Config.JWT[0].Issuer
	if doc.IssuerURL == "" {
		doc.IssuerURL = first.URL
	}
	if doc.ClientID == "" && len(first.Audiences) > 0 {
		doc.ClientID = first.Audiences[0]
	}
	needs := loginNeeds(src, doc.IssuerURL)
	doc.ExtraScopes, doc.Claims = needs.Scopes, needs.Claims
	if c.ExtraScopesSet {
		doc.ExtraScopes = c.ExtraScopes
	}
	return doc
}

// loginNeeds is what the issuer the document names needs of a login, so that its tokens carry
// what the proxy reads: with an issuer URL naming no configured issuer, nothing. Claims the
// document cannot hold are left out (they are for people, not for logins), as are those past
// its bound.
func loginNeeds(src authn.Source, issuerURL string) authn.LoginNeeds {
	var claims, scopes []string
	for _, jwt := range src.Config.JWT {
		if jwt.Issuer.URL != issuerURL {
			continue
		}
		n := authn.NeedsOf(jwt)
		claims, scopes = append(claims, n.Claims...), append(scopes, n.Scopes...)
	}
	claims = slices.DeleteFunc(claims, func(c string) bool { return wellknown.ValidateClaim(c) != nil })
	slices.Sort(claims)
	slices.Sort(scopes)
	claims, scopes = slices.Compact(claims), slices.Compact(scopes)
	return authn.LoginNeeds{Claims: claims[:min(len(claims), wellknown.MaxClaims)], Scopes: scopes}
}

// Discovery serves the document of the configuration in force, rebuilt when a reload replaces
// it, so that `kubectl aksoidc setup` never learns an issuer the proxy no longer accepts.
type Discovery struct {
	cfg     DiscoveryConfig
	current func() authn.Source
	log     *slog.Logger
	served  atomic.Pointer[servedDocument]
}

type servedDocument struct {
	config  *apiserver.AuthenticationConfiguration
	doc     wellknown.Document
	handler http.Handler
}

// NewDiscovery returns the handler of wellknown.Path. The document of the configuration in
// force now must be valid; one a reload makes invalid is logged and the last good one served.
func NewDiscovery(cfg DiscoveryConfig, current func() authn.Source, log *slog.Logger) (*Discovery, error) {
	src := current()
	doc := cfg.Document(src)
	h, err := wellknown.Handler(doc)
	if err != nil {
		return nil, err
	}
	d := &Discovery{cfg: cfg, current: current, log: log}
	d.served.Store(&servedDocument{config: src.Config, doc: doc, handler: h})
	return d, nil
}

func (d *Discovery) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.load().handler.ServeHTTP(w, r)
}

// Document is the document served now; the onboarding page shows it.
func (d *Discovery) Document() wellknown.Document { return d.load().doc }

func (d *Discovery) load() *servedDocument {
	served := d.served.Load()
	src := d.current()
	if src.Config == served.config {
		return served
	}
	next := &servedDocument{config: src.Config, doc: served.doc, handler: served.handler}
	doc := d.cfg.Document(src)
	if h, err := wellknown.Handler(doc); err != nil {
		d.log.Error("discovery document not updated after the authentication config changed, serving the last good one",
			"error", fmt.Errorf("--discovery-*: %w", err))
	} else {
		next.doc, next.handler = doc, h
	}
	// Concurrent requests may each build it once; the result is the same.
	d.served.Store(next)
	return next
}
