package main

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/aksoidc/aksoidc/pkg/proxy"
	"github.com/aksoidc/aksoidc/pkg/proxy/authn"
)

// completed is what validated options turn into.
type completed struct {
	source     authn.Source
	configData []byte
	upstream   *rest.Config
	discovery  proxy.DiscoveryConfig
	// onboarding is nil when there is no page; its Document and Logger are set when serving.
	onboarding *proxy.OnboardingConfig
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
	if c.discovery, err = o.discoveryConfig(c.source); err != nil {
		return nil, err
	}
	if o.onboarding && o.onboardingServerURL != "" {
		c.onboarding = &proxy.OnboardingConfig{ServerURL: o.onboardingServerURL,
			DisplayName: o.onboardingDisplayName, Message: o.onboardingMessage}
	}
	return c, nil
}

// discoveryConfig is what the --discovery-* flags fix of the discovery document; the rest
// follows the authentication configuration in force (proxy.NewDiscovery). The document of the
// configuration at start is checked here, so that a bad flag is reported with the others.
func (o *options) discoveryConfig(src authn.Source) (proxy.DiscoveryConfig, error) {
	cfg := proxy.DiscoveryConfig{IssuerURL: o.discoveryIssuerURL, ClientID: o.discoveryClientID,
		ExtraScopes: o.discoveryExtraScopes, ExtraScopesSet: o.fs.Changed("discovery-extra-scopes")}
	if o.discoveryCAFile != "" {
		ca, err := os.ReadFile(o.discoveryCAFile)
		if err != nil {
			return cfg, fmt.Errorf("read --discovery-ca-file: %w", err)
		}
		cfg.CAData = ca
	}
	if err := cfg.Document(src).Validate(); err != nil {
		return cfg, fmt.Errorf("--discovery-*: discovery document: %w", err)
	}
	return cfg, nil
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
