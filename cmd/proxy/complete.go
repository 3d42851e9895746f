package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/aksoidc/aksoidc/internal/cli"
	"github.com/aksoidc/aksoidc/pkg/proxy"
	"github.com/aksoidc/aksoidc/pkg/proxy/authn"
)

// completed is what validated options turn into: serving reads nothing else.
type completed struct {
	// authn is the authenticator's configuration: the file's path, or the --oidc-* flags'
	// Source; serve adds the logger, the metrics and the passthrough.
	authn            authn.Options
	tokenPassthrough bool
	// nestedImpersonation: kubectl --as is authorized with SubjectAccessReviews.
	nestedImpersonation bool
	// The limit of the proxy's own reviews (TokenReview, SubjectAccessReview), each kind its own.
	upstreamQPS   float32
	upstreamBurst int
	upstream      *rest.Config
	discovery     proxy.DiscoveryConfig
	// onboarding is nil when there is no page; its Document and Logger are set when serving.
	onboarding *proxy.OnboardingConfig
	// handler and server are proxy.Config and proxy.ServerConfig as the flags set them; serve
	// adds what is built at run time.
	handler    proxy.Config
	server     proxy.ServerConfig
	secureAddr string
	probeAddr  string
}

// complete turns validated options into the configuration served. What it finds wrong (a file a
// flag names that cannot be read or is invalid) is a problem of the command line: a usage error
// with every such problem, reported as validate's are.
func (o *options) complete() (*completed, error) {
	c := &completed{
		authn: authn.Options{ConfigFile: o.authenticationConfig, ReloadInterval: o.authConfigReload,
			AllowSystemIdentities: o.allowSystemIdentities},
		tokenPassthrough: o.tokenPassthrough, nestedImpersonation: o.nestedImpersonation,
		upstreamQPS: o.upstreamQPS, upstreamBurst: o.upstreamBurst,
		handler: proxy.Config{RequestTimeout: o.requestTimeout, TrustedProxies: o.trustedPrefixes},
		server: proxy.ServerConfig{CertFile: o.tlsCertFile, KeyFile: o.tlsKeyFile, ShutdownGrace: o.shutdownGrace,
			ReadyInterval: o.readinessInterval, Profiling: o.profiling},
		secureAddr: net.JoinHostPort(o.bindAddress, strconv.Itoa(o.securePort)),
		probeAddr:  net.JoinHostPort(o.bindAddress, strconv.Itoa(o.probePort)),
	}
	var errs []error
	src, err := o.authnSource()
	errs = append(errs, err)
	if o.authenticationConfig == "" {
		c.authn.Source = src
	}
	c.upstream, err = o.upstreamConfig()
	errs = append(errs, err)
	if err == nil && src.Config != nil {
		c.discovery, err = o.discoveryConfig(src)
		errs = append(errs, err)
	}
	if o.onboarding && o.onboardingServerURL != "" {
		c.onboarding = &proxy.OnboardingConfig{ServerURL: o.onboardingServerURL,
			DisplayName: o.onboardingDisplayName, Message: o.onboardingMessage}
	}
	if err := cli.Usage(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// authnSource is the configuration at start, read here so that a bad file or flag is reported
// with the others; the authenticator reads --authentication-config itself (and again on
// every reload).
func (o *options) authnSource() (authn.Source, error) {
	if o.authenticationConfig != "" {
		if _, err := cli.ReadFile("--authentication-config", o.authenticationConfig); err != nil {
			return authn.Source{}, err
		}
		src, _, err := authn.LoadFile(o.authenticationConfig)
		return src, err
	}
	if o.oidcCAFile != "" {
		if _, err := cli.ReadFile("--oidc-ca-file", o.oidcCAFile); err != nil {
			return authn.Source{}, err
		}
	}
	return authn.FromFlags(o.oidcFlags())
}

// discoveryConfig is what the --discovery-* flags fix of the discovery document; the rest
// follows the authentication configuration in force (proxy.NewDiscovery). The document of the
// configuration at start is checked here, so that a bad flag is reported with the others.
func (o *options) discoveryConfig(src authn.Source) (proxy.DiscoveryConfig, error) {
	cfg := proxy.DiscoveryConfig{IssuerURL: o.discoveryIssuerURL, ClientID: o.discoveryClientID,
		ExtraScopes: o.discoveryExtraScopes, ExtraScopesSet: o.fs.Changed("discovery-extra-scopes")}
	if o.discoveryCAFile != "" {
		ca, err := cli.ReadFile("--discovery-ca-file", o.discoveryCAFile)
		if err != nil {
			return cfg, err
		}
		cfg.CAData = ca
	}
	if err := cfg.Document(src).Validate(); err != nil {
		return cfg, fmt.Errorf("--discovery-*: the discovery document would be invalid: %w", err)
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
		if _, err := cli.ReadFile("--kubeconfig", o.kubeconfig); err != nil {
			return nil, err
		}
		cfg, err = clientcmd.BuildConfigFromFlags("", o.kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("--kubeconfig %q: %w", o.kubeconfig, err)
		}
	} else if cfg, err = rest.InClusterConfig(); err != nil {
		if errors.Is(err, rest.ErrNotInCluster) {
			return nil, errors.New("--kubeconfig: want the proxy's kubeconfig outside a cluster (in a pod, the service account's is used)")
		}
		return nil, fmt.Errorf("the in-cluster config (or --kubeconfig): %w", err)
	}
	cfg.QPS, cfg.Burst = o.upstreamQPS, o.upstreamBurst
	cfg.UserAgent = "aksoidc-proxy"
	return cfg, nil
}

// parsePrefixes reads --trusted-proxy-cidr; validate calls it, once.
func parsePrefixes(cidrs []string) ([]netip.Prefix, []error) {
	var errs []error
	out := make([]netip.Prefix, 0, len(cidrs))
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(strings.TrimSpace(c))
		if err != nil {
			errs = append(errs, fmt.Errorf("--trusted-proxy-cidr %q: want a CIDR such as 10.0.0.0/8", c))
			continue
		}
		out = append(out, p.Masked())
	}
	return out, errs
}
