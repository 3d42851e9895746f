package main

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/aksoidc/aksoidc/pkg/proxy/authn"
	"github.com/aksoidc/aksoidc/pkg/proxy/wellknown"
)

// completed is what validated options turn into.
type completed struct {
	source     authn.Source
	configData []byte
	upstream   *rest.Config
	discovery  http.Handler
	trusted    []netip.Prefix
	secureAddr string
	probeAddr  string
}

func (o *options) complete() (*completed, error) {
	c := &completed{
		secureAddr: net.JoinHostPort(o.bindAddress, strconv.Itoa(o.securePort)),
		probeAddr:  net.JoinHostPort(o.bindAddress, strconv.Itoa(o.probePort)),
	}
	var err error
	if c.trusted, err = parsePrefixes(o.trustedProxyCIDRs); err != nil {
		return nil, err
	}
	if o.authenticationConfig != "" {
		c.source, c.configData, err = authn.LoadFile(o.authenticationConfig)
	} else {
		c.source, err = authn.FromFlags(o.oidcFlags())
	}
	if err != nil {
		return nil, err
	}
	if c.upstream, err = o.upstreamConfig(); err != nil {
		return nil, err
	}
	if c.discovery, err = o.discoveryHandler(c.source); err != nil {
		return nil, err
	}
	return c, nil
}

// discoveryHandler publishes how to log in; the defaults come from the issuer in force.
func (o *options) discoveryHandler(src authn.Source) (http.Handler, error) {
	doc := wellknown.Document{IssuerURL: o.discoveryIssuerURL, ClientID: o.discoveryClientID}
	first := src.Config.JWT[0].Issuer
	if doc.IssuerURL == "" {
		doc.IssuerURL = first.URL
	}
	if doc.ClientID == "" && len(first.Audiences) > 0 {
		doc.ClientID = first.Audiences[0]
	}
	needs := discoveryNeeds(src, doc.IssuerURL)
	doc.ExtraScopes, doc.Claims = needs.Scopes, needs.Claims
	// Set, even to nothing, the flag wins: an operator may know the issuer better than the
	// table behind authn.NeedsOf.
	if o.fs.Changed("discovery-extra-scopes") {
		doc.ExtraScopes = o.discoveryExtraScopes
	}
	if o.discoveryCAFile != "" {
		ca, err := os.ReadFile(o.discoveryCAFile)
		if err != nil {
			return nil, fmt.Errorf("read --discovery-ca-file: %w", err)
		}
		doc.CertificateAuthorityData = ca
	}
	h, err := wellknown.Handler(doc)
	if err != nil {
		return nil, fmt.Errorf("--discovery-*: %w", err)
	}
	return h, nil
}

// discoveryNeeds is what the issuer the document names needs of a login, so that its tokens
// carry what the proxy reads: with --discovery-issuer-url naming no configured issuer, nothing.
// Claims the document cannot hold are left out (they are for people, not for logins), as are
// those past its bound.
func discoveryNeeds(src authn.Source, issuerURL string) authn.LoginNeeds {
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

func (o *options) oidcFlags() authn.OIDCFlags {
	required := map[string]string{}
	for _, kv := range o.oidcRequiredClaims {
		k, v, _ := strings.Cut(kv, "=")
		required[k] = v
	}
	return authn.OIDCFlags{
		IssuerURL: o.oidcIssuerURL, ClientID: o.oidcClientID, CAFile: o.oidcCAFile,
		UsernameClaim: o.oidcUsernameClaim, UsernamePrefix: o.oidcUsernamePrefix,
		GroupsClaim: o.oidcGroupsClaim, GroupsPrefix: o.oidcGroupsPrefix,
		RequiredClaims: required, SigningAlgs: o.oidcSigningAlgs,
	}
}

// upstreamConfig is the proxy's own identity at the API server: in-cluster (whose mounted token
// client-go re-reads when it rotates) unless --kubeconfig says otherwise.
func (o *options) upstreamConfig() (*rest.Config, error) {
	var cfg *rest.Config
	var err error
	if o.kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", o.kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("--kubeconfig: %w", err)
		}
	} else if cfg, err = rest.InClusterConfig(); err != nil {
		return nil, fmt.Errorf("in-cluster config (use --kubeconfig outside a cluster): %w", err)
	}
	cfg.QPS, cfg.Burst = o.upstreamQPS, o.upstreamBurst
	cfg.UserAgent = "aksoidc-proxy"
	return cfg, nil
}
