package main

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apiserver/plugin/pkg/authenticator/token/oidc"

	"github.com/aksoidc/aksoidc/internal/cli"
	"github.com/aksoidc/aksoidc/pkg/proxy"
)

// options are the command-line flags, as given.
type options struct {
	oidcIssuerURL      string
	oidcClientID       string
	oidcCAFile         string
	oidcUsernameClaim  string
	oidcUsernamePrefix string
	oidcGroupsClaim    string
	oidcGroupsPrefix   string
	oidcRequiredClaims []string
	oidcSigningAlgs    []string

	authenticationConfig    string
	authConfigReload        time.Duration
	allowSystemIdentities   bool
	tokenPassthrough        bool
	nestedImpersonation     bool
	upstreamQPS             float32
	upstreamBurst           int
	kubeconfig              string
	trustedProxyCIDRs       []string
	requestTimeout          time.Duration
	tlsCertFile, tlsKeyFile string
	bindAddress             string
	securePort, probePort   int
	shutdownGrace           time.Duration
	readinessInterval       time.Duration
	logLevel                string
	profiling               bool
	showVersion             bool

	discoveryIssuerURL   string
	discoveryClientID    string
	discoveryExtraScopes []string
	discoveryCAFile      string

	onboarding            bool
	onboardingServerURL   string
	onboardingDisplayName string
	onboardingMessage     string

	fs *pflag.FlagSet
	// Filled by validate.
	trustedPrefixes []netip.Prefix
}

func (o *options) addFlags(fs *pflag.FlagSet) {
	o.fs = fs
	fs.StringVar(&o.oidcIssuerURL, "oidc-issuer-url", "", "URL of the OpenID issuer (https only); as kube-apiserver's flag")
	fs.StringVar(&o.oidcClientID, "oidc-client-id", "", "client ID the tokens must be issued for (the aud claim)")
	fs.StringVar(&o.oidcCAFile, "oidc-ca-file", "", "PEM file of the CA that signs the issuer's certificate (default: the host's roots)")
	fs.StringVar(&o.oidcUsernameClaim, "oidc-username-claim", "sub", "claim to use as the user name")
	fs.StringVar(&o.oidcUsernamePrefix, "oidc-username-prefix", "", "prefix for user names; unset prefixes claims other than email with the issuer URL and '#'; '-' for none")
	fs.StringVar(&o.oidcGroupsClaim, "oidc-groups-claim", "", "claim to use as the user's groups")
	fs.StringVar(&o.oidcGroupsPrefix, "oidc-groups-prefix", "", "prefix for every group")
	fs.StringArrayVar(&o.oidcRequiredClaims, "oidc-required-claim", nil, "key=value a token must carry; repeat for several")
	fs.StringSliceVar(&o.oidcSigningAlgs, "oidc-signing-algs", []string{"RS256"}, "accepted signing algorithms")
	fs.StringVar(&o.authenticationConfig, "authentication-config", "", "kube-apiserver AuthenticationConfiguration file (apiserver.config.k8s.io/v1 or v1beta1); excludes the --oidc-* flags")
	fs.DurationVar(&o.authConfigReload, "authentication-config-reload-interval", 10*time.Second, "how often --authentication-config is checked for changes")
	fs.BoolVar(&o.allowSystemIdentities, "allow-system-identities", false, "let usernames and groups that start with system: through")
	fs.BoolVar(&o.tokenPassthrough, "token-passthrough", false, "forward tokens no issuer accepts, as they are, when a TokenReview at the API server accepts them")
	fs.BoolVar(&o.nestedImpersonation, "nested-impersonation", true, "let a user impersonate whom RBAC allows them to (kubectl --as), authorized with SubjectAccessReviews; false refuses any Impersonate-* header with 403")
	fs.Float32Var(&o.upstreamQPS, "upstream-qps", 50, "QPS limit of the proxy's own API calls (TokenReview, SubjectAccessReview), each kind its own; a review that would wait more than 1s for it is refused")
	fs.IntVar(&o.upstreamBurst, "upstream-burst", 100, "client-side burst of the proxy's own API calls")
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig of the proxy's identity (default: in-cluster config)")
	fs.StringSliceVar(&o.trustedProxyCIDRs, "trusted-proxy-cidr", nil, "peers whose X-Forwarded-For is believed (CIDR, repeatable)")
	fs.DurationVar(&o.requestTimeout, "request-timeout", time.Minute, "timeout of requests that are not long-running")
	fs.StringVar(&o.tlsCertFile, "tls-cert-file", "", "serving certificate (PEM); reloaded when it changes")
	fs.StringVar(&o.tlsKeyFile, "tls-private-key-file", "", "serving key (PEM); reloaded when it changes")
	fs.StringVar(&o.bindAddress, "bind-address", "0.0.0.0", "address to listen on")
	fs.IntVar(&o.securePort, "secure-port", 8443, "HTTPS port of the proxy")
	fs.IntVar(&o.probePort, "probe-port", 8080, "plain HTTP port of /healthz, /readyz and /metrics")
	fs.DurationVar(&o.shutdownGrace, "shutdown-grace", 30*time.Second, "how long running requests may take to finish after SIGTERM")
	fs.DurationVar(&o.readinessInterval, "readiness-check-interval", 10*time.Second, "how often /readyz re-checks the issuers and the API server")
	fs.StringVar(&o.discoveryIssuerURL, "discovery-issuer-url", "", "issuer URL published at /.well-known/aksoidc for kubectl aksoidc setup (default: --oidc-issuer-url, or the first issuer of --authentication-config)")
	fs.StringVar(&o.discoveryClientID, "discovery-client-id", "", "client ID published at /.well-known/aksoidc (default: --oidc-client-id, or that issuer's first audience)")
	fs.StringSliceVar(&o.discoveryExtraScopes, "discovery-extra-scopes", nil, "scopes besides openid and offline_access published at /.well-known/aksoidc (default: the scopes behind the claims the published issuer is configured to read; set it empty to publish none)")
	fs.StringVar(&o.discoveryCAFile, "discovery-ca-file", "", "PEM bundle that verifies the proxy's serving certificate, published at /.well-known/aksoidc")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.BoolVar(&o.onboarding, "onboarding", true, "answer a browser's visit of / (no token, Accept preferring HTML) with a page on how to set up kubectl, and /kubeconfig with a kubeconfig for this proxy; needs --onboarding-server-url")
	fs.StringVar(&o.onboardingServerURL, "onboarding-server-url", "", "https URL users reach the proxy at, shown on the onboarding page and written into its kubeconfig (unset: no page)")
	fs.StringVar(&o.onboardingDisplayName, "onboarding-display-name", "", "name of the cluster on the onboarding page (default: the host of --onboarding-server-url)")
	fs.StringVar(&o.onboardingMessage, "onboarding-message", "", "note shown on the onboarding page, such as where to ask for help")
	fs.BoolVar(&o.profiling, "profiling", false, "serve Go's profiles (net/http/pprof) at /debug/pprof/ on the probe port; as kube-apiserver's flag, but off by default")
	fs.BoolVar(&o.showVersion, "version", false, "print the version and exit")
}

// validate reports every problem with the flags at once.
func (o *options) validate() error {
	var errs []error
	oidcSet := o.oidcFlagsSet()
	switch {
	case o.authenticationConfig != "" && len(oidcSet) > 0:
		errs = append(errs, fmt.Errorf("--authentication-config and %s are mutually exclusive", strings.Join(oidcSet, ", ")))
	case o.authenticationConfig == "" && (o.oidcIssuerURL == "" || o.oidcClientID == ""):
		errs = append(errs, errors.New("either --authentication-config or both --oidc-issuer-url and --oidc-client-id are required"))
	}
	seen := map[string]bool{}
	for _, c := range o.oidcRequiredClaims {
		k, _, ok := strings.Cut(c, "=")
		switch {
		case !ok || k == "":
			errs = append(errs, fmt.Errorf("--oidc-required-claim %q: want key=value", c))
		case seen[k]:
			// kube-apiserver keeps the last value: a second flag would silently replace a rule.
			errs = append(errs, fmt.Errorf("--oidc-required-claim %q: claim %q is already required", c, k))
		}
		seen[k] = true
	}
	for _, alg := range o.oidcSigningAlgs {
		if !slices.Contains(oidc.AllValidSigningAlgorithms(), alg) {
			errs = append(errs, fmt.Errorf("--oidc-signing-algs %q: want one of %s", alg, strings.Join(oidc.AllValidSigningAlgorithms(), ", ")))
		}
	}
	var cidrErrs []error
	o.trustedPrefixes, cidrErrs = parsePrefixes(o.trustedProxyCIDRs)
	errs = append(errs, cidrErrs...)
	if o.tlsCertFile == "" || o.tlsKeyFile == "" {
		errs = append(errs, errors.New("--tls-cert-file and --tls-private-key-file are required"))
	}
	errs = append(errs, o.validateNumbers()...)
	errs = append(errs, o.validateOnboarding()...)
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, o.logLevel) {
		errs = append(errs, fmt.Errorf("--log-level %q: want debug, info, warn or error", o.logLevel))
	}
	return cli.Usage(errs...)
}

func (o *options) validateNumbers() []error {
	var errs []error
	for _, p := range []struct {
		name string
		v    int
	}{{"--secure-port", o.securePort}, {"--probe-port", o.probePort}} {
		if p.v < 0 || p.v > 65535 {
			errs = append(errs, fmt.Errorf("%s %d: want 0-65535", p.name, p.v))
		}
	}
	if _, err := netip.ParseAddr(o.bindAddress); err != nil {
		errs = append(errs, fmt.Errorf("--bind-address %q: want an IP address", o.bindAddress))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"--request-timeout", o.requestTimeout}, {"--shutdown-grace", o.shutdownGrace}, {"--readiness-check-interval", o.readinessInterval}, {"--authentication-config-reload-interval", o.authConfigReload}} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("%s %s: want a positive duration", d.name, d.v))
		}
	}
	if o.upstreamQPS <= 0 {
		errs = append(errs, fmt.Errorf("--upstream-qps %v: want a positive number", o.upstreamQPS))
	}
	if o.upstreamBurst <= 0 {
		errs = append(errs, fmt.Errorf("--upstream-burst %d: want a positive whole number", o.upstreamBurst))
	}
	return errs
}

func (o *options) oidcFlagsSet() []string {
	var set []string
	o.fs.Visit(func(f *pflag.Flag) {
		if strings.HasPrefix(f.Name, "oidc-") {
			set = append(set, "--"+f.Name)
		}
	})
	return set
}

// validateOnboarding checks the --onboarding-* flags: the page shows them to anyone who opens
// the proxy's URL.
func (o *options) validateOnboarding() []error {
	var errs []error
	if o.onboardingServerURL == "" {
		for _, f := range []string{"onboarding-display-name", "onboarding-message"} {
			if o.fs.Changed(f) {
				errs = append(errs, fmt.Errorf("--%s needs --onboarding-server-url", f))
			}
		}
		if o.onboarding && o.fs.Changed("onboarding") {
			errs = append(errs, errors.New("--onboarding needs --onboarding-server-url"))
		}
		return errs
	}
	if err := proxy.ValidateServerURL(o.onboardingServerURL); err != nil {
		errs = append(errs, fmt.Errorf("--onboarding-server-url %q: %w", o.onboardingServerURL, err))
	}
	if err := proxy.ValidateOnboardingText(o.onboardingDisplayName, proxy.MaxDisplayName); err != nil {
		errs = append(errs, fmt.Errorf("--onboarding-display-name: %w", err))
	}
	if err := proxy.ValidateOnboardingText(o.onboardingMessage, proxy.MaxMessage); err != nil {
		errs = append(errs, fmt.Errorf("--onboarding-message: %w", err))
	}
	return errs
}
