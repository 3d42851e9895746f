package main

import (
	"context"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/aksoidc/aksoidc/internal/cli"
	"github.com/aksoidc/aksoidc/pkg/login"
	"github.com/aksoidc/aksoidc/pkg/tokencache"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// replacesRoots is what every CA flag says of itself (trustroots.Pool).
const replacesRoots = "they replace the system's roots, as kubectl's --certificate-authority does"

// failedLoginCooldown is how long callers without a terminal wait after a
// failed login before they may start another (and open another browser tab).
const failedLoginCooldown = 5 * time.Minute

type getTokenOptions struct {
	cacheOptions
	clientSecret    string
	minValidity     time.Duration
	loginTimeout    time.Duration
	forceRefresh    bool
	listenAddresses []string
	redirectURL     string
	browserCommand  string
	skipOpenBrowser bool
	caFile          string
	caData          string
	insecure        bool

	// Filled by validate (caPEM) and complete (exec).
	caPEM []byte
	exec  execInfo
}

func (o *getTokenOptions) addFlags(fs *pflag.FlagSet) {
	o.cacheOptions.addFlags(fs)
	fs.StringVar(&o.clientSecret, "client-secret", "", "OAuth client secret, for confidential clients")
	fs.DurationVar(&o.minValidity, "min-validity", time.Minute, "refresh a cached token that has less than this left")
	fs.DurationVar(&o.loginTimeout, "login-timeout", 3*time.Minute, "give up on a login that does not complete in this time")
	fs.BoolVar(&o.forceRefresh, "force-refresh", false, "ignore the cached token; refresh it or log in")
	fs.StringSliceVar(&o.listenAddresses, "listen-address", []string{"127.0.0.1:8000", "127.0.0.1:18000"},
		"loopback addresses for the login callback, tried in order (port 0: any free port)")
	fs.StringVar(&o.redirectURL, "redirect-url", login.OOBRedirectURL, "redirect URL of the authcode-keyboard flow")
	fs.StringVar(&o.browserCommand, "browser-command", "", "command that opens the login URL (the URL is its last argument; split on spaces)")
	fs.BoolVar(&o.skipOpenBrowser, "skip-open-browser", false, "print the login URL on stderr instead of opening a browser")
	fs.StringVar(&o.caFile, "certificate-authority", "", "PEM file of the CA certificates that verify the issuer; "+replacesRoots)
	fs.StringVar(&o.caData, "certificate-authority-data", "", "base64 PEM CA certificates that verify the issuer (with --certificate-authority: both); "+replacesRoots)
	fs.BoolVar(&o.insecure, "insecure-skip-tls-verify", false, "do not verify the issuer's TLS certificate (insecure)")
}

func (o *getTokenOptions) validate() error {
	return o.validateFlags(true)
}

// validateFlags reports every problem of get-token's flags at once; without needIssuer
// (setup --server, whose discovery document supplies them) --issuer-url and --client-id may
// be unset.
func (o *getTokenOptions) validateFlags(needIssuer bool) error {
	errs := o.cacheOptions.validate(needIssuer)
	if o.minValidity < 0 {
		errs = append(errs, fmt.Errorf("--min-validity %s: want 0s or more", o.minValidity))
	}
	if o.loginTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--login-timeout %s: want a positive duration", o.loginTimeout))
	}
	if len(o.listenAddresses) == 0 {
		errs = append(errs, errors.New("--listen-address: want at least one host:port"))
	}
	for _, a := range o.listenAddresses {
		if _, _, err := net.SplitHostPort(a); err != nil {
			errs = append(errs, fmt.Errorf("--listen-address %q: want host:port such as 127.0.0.1:8000", a))
		}
	}
	errs = append(errs, o.readCAs()...)
	return cli.Usage(errs...)
}

// readCAs checks the CA flags now, so a typo fails every call rather than
// only the next login.
func (o *getTokenOptions) readCAs() []error {
	var errs []error
	if o.caFile != "" {
		b, err := readPEMFile("--certificate-authority", o.caFile)
		if err != nil {
			errs = append(errs, err)
		}
		o.caPEM = append(o.caPEM, b...)
	}
	if o.caData != "" {
		b, err := base64.StdEncoding.DecodeString(o.caData)
		switch {
		case err != nil:
			errs = append(errs, errors.New("--certificate-authority-data: want base64 of PEM certificates"))
		case !hasCertificate(b):
			errs = append(errs, errors.New("--certificate-authority-data: want base64 of PEM certificates; it holds none"))
		}
		o.caPEM = append(append(o.caPEM, '\n'), b...)
	}
	return errs
}

// readPEMFile reads a CA file named by flag and checks it holds a certificate.
func readPEMFile(flag, path string) ([]byte, error) {
	b, err := cli.ReadFile(flag, path)
	if err != nil {
		return nil, err
	}
	if !hasCertificate(b) {
		return nil, fmt.Errorf("%s %q: want a PEM file of certificates; it holds none", flag, path)
	}
	return b, nil
}

func hasCertificate(b []byte) bool {
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			return false
		}
		if block.Type == "CERTIFICATE" {
			return true
		}
	}
}

func (o *getTokenOptions) complete(s streams) (login.Config, login.Deps, error) {
	o.cacheOptions.complete(s)
	var err error
	if o.exec, err = parseExecInfo(s.getenv(execInfoEnv)); err != nil {
		return login.Config{}, login.Deps{}, cli.Usage(err)
	}
	cfg := login.Config{
		Settings: o.settings(), ClientSecret: o.clientSecret, MinValidity: o.minValidity, ForceRefresh: o.forceRefresh,
		LoginTimeout: o.loginTimeout, FailedLoginCooldown: failedLoginCooldown, ListenAddresses: o.listenAddresses, RedirectURL: o.redirectURL,
		Browser: o.browser(s), Interactive: o.exec.interactive,
		TLS:   login.TLSConfig{CAData: o.caPEM, InsecureSkipVerify: o.insecure},
		Stdin: s.in, Stderr: s.err, Log: o.log,
	}
	dir := o.cacheDir
	deps := login.Deps{
		Cache:    o.cache(),
		Lock:     func(ctx context.Context, id string) (func(), error) { return tokencache.Lock(ctx, dir, id) },
		Failures: tokencache.FailureMarks{Dir: dir},
	}
	return cfg, deps, nil
}

func (o *getTokenOptions) browser(s streams) login.Browser {
	if o.skipOpenBrowser {
		return nil
	}
	command := login.DefaultBrowserCommand()
	if o.browserCommand != "" {
		command = strings.Fields(o.browserCommand)
	}
	b := login.CommandBrowser{Command: command}
	if o.verbosity >= 2 {
		b.Output = s.err
	}
	return b
}

func newGetTokenCommand(s streams) *cobra.Command {
	o := &getTokenOptions{}
	cmd := &cobra.Command{
		Use:   "get-token --issuer-url URL --client-id ID [flags]",
		Short: "Print an ExecCredential with a valid OIDC token (kubectl runs this)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			cfg, deps, err := o.complete(s)
			if err != nil {
				return err
			}
			tok, err := login.GetToken(cmd.Context(), cfg, deps)
			if err != nil {
				return explainNotInteractive(err)
			}
			return writeExecCredential(s.out, o.exec.apiVersion, tok)
		},
	}
	o.addFlags(cmd.Flags())
	return cmd
}

func explainNotInteractive(err error) error {
	if errors.Is(err, login.ErrNotInteractive) {
		return fmt.Errorf("%w; run `kubectl aksoidc get-token` with the same flags in a terminal to log in, then retry", err)
	}
	return err
}
