package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"

	"github.com/aksoidc/aksoidc/internal/cli"
	"github.com/aksoidc/aksoidc/internal/jwtclaims"
	"github.com/aksoidc/aksoidc/pkg/login"
	"github.com/aksoidc/aksoidc/pkg/setup"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type setupOptions struct {
	getTokenOptions
	server           string
	serverCA         string
	trustFingerprint string
	kubeconfig       string
	name             string
	execCommand      string
	kuberc           string

	serverCAPEM []byte
}

// setupOnly flags configure setup itself and never go into the kubeconfig.
var setupOnly = map[string]bool{
	"server": true, "server-certificate-authority": true, "trust-fingerprint": true,
	"kubeconfig": true, "name": true, "exec-command": true, "kuberc": true, "force-refresh": true, "v": true,
}

func (o *setupOptions) addFlags(fs *pflag.FlagSet) {
	o.getTokenOptions.addFlags(fs)
	fs.StringVar(&o.server, "server", "", "https URL of an aksoidc proxy: its discovery document supplies the issuer, client ID and CA")
	fs.StringVar(&o.serverCA, "server-certificate-authority", "", "PEM file of the CA certificates that verify the proxy; "+replacesRoots)
	fs.StringVar(&o.trustFingerprint, "trust-fingerprint", "", "trust the proxy's certificate if its SHA256 fingerprint is this (instead of asking)")
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig to write (default: $KUBECONFIG or ~/.kube/config)")
	fs.StringVar(&o.name, "name", "", "name of the cluster, user and context written (default: aksoidc-<server host> or aksoidc-<client ID>)")
	fs.StringVar(&o.execCommand, "exec-command", "", "command the kubeconfig runs (default: the absolute path of kubectl-aksoidc on PATH)")
	fs.StringVar(&o.kuberc, "kuberc", "", "kuberc whose credential plugin allowlist must let kubectl run the plugin, as kubectl's --kuberc (default: $KUBERC, else ~/.kube/kuberc)")
}

// validate reports every problem of the flags at once, before setup contacts any server.
func (o *setupOptions) validate() error {
	if o.server == "" {
		return o.getTokenOptions.validate()
	}
	errs := []error{o.validateFlags(false)}
	if o.issuerURL != "" {
		errs = append(errs, validateIssuer(o.issuerURL))
	}
	if u, err := url.Parse(o.server); err != nil || u.Scheme != "https" || u.Host == "" {
		errs = append(errs, fmt.Errorf("--server %q: want an https URL", o.server))
	}
	if o.serverCA != "" {
		b, err := readPEMFile("--server-certificate-authority", o.serverCA)
		if err != nil {
			errs = append(errs, err)
		}
		o.serverCAPEM = b
	}
	return cli.Usage(errs...)
}

func newSetupCommand(s streams) *cobra.Command {
	o := &setupOptions{}
	cmd := &cobra.Command{
		Use:   "setup --server https://proxy.example | setup --issuer-url URL --client-id ID",
		Short: "Log in once, show who you are, and write a kubeconfig that uses kubectl-aksoidc",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, _, kubercErr := setup.KubercFile(o.kuberc, s.getenv)
			if err := cli.Usage(o.validate(), kubercErr); err != nil {
				return err
			}
			return o.run(cmd, s)
		},
	}
	o.addFlags(cmd.Flags())
	return cmd
}

func (o *setupOptions) run(cmd *cobra.Command, s streams) error {
	ctx := cmd.Context()
	var caData []byte
	var claims []string
	if o.server != "" {
		d, err := setup.Discover(ctx, o.server, o.serverCAPEM, o.trust(s))
		if err != nil {
			return err
		}
		o.adopt(cmd.Flags(), d)
		caData, claims = d.CAData, d.Claims
		_, _ = fmt.Fprintf(s.out, "The proxy at %s signs users in at %s (client %s).\n", o.server, o.issuerURL, o.clientID)
	}
	// What the kubeconfig cannot hold is refused before the user logs in.
	k := o.kubeconfigEntry(cmd.Flags(), caData)
	if err := k.Check(); err != nil {
		return err
	}
	cfg, deps, err := o.complete(s)
	if err != nil {
		return err
	}
	tok, err := login.GetToken(ctx, cfg, deps)
	if err != nil {
		return explainNotInteractive(err)
	}
	if err := printLogin(s, tok.Value); err != nil {
		return err
	}
	if o.server != "" {
		id, err := setup.SelfSubjectReview(ctx, o.server, caData, tok.Value)
		if err != nil {
			return explainRefusal(err, claims, tok.Value)
		}
		printReview(s, id)
	}
	if err := write(s, k); err != nil {
		return err
	}
	return allowInKuberc(s, o.kuberc, k.Command)
}

// allowInKuberc lets kubectl run the plugin where the user's kuberc restricts
// credential plugins (kubectl 1.35+): setup adds it to an allowlist and says so,
// and explains a DenyAll policy, which it leaves as it is.
func allowInKuberc(s streams, flag, command string) error {
	path, explicit, err := setup.KubercFile(flag, s.getenv)
	if err != nil || path == "" {
		return err
	}
	change, err := setup.AllowPlugin(path, explicit, command)
	switch {
	case err != nil:
		return err
	case change.Added != "":
		_, err = fmt.Fprintf(s.err, "Added %q to credentialPluginAllowlist in %q: that kuberc lets kubectl run only the credential plugins it lists.\n",
			change.Added, path)
	case change.Policy == "DenyAll":
		_, err = fmt.Fprintf(s.err, "Note: %q sets credentialPluginPolicy: DenyAll, so kubectl runs no credential plugin and this kubeconfig "+
			"will not work; setup left it as it is. To allow only this one, set credentialPluginPolicy: Allowlist and "+
			"credentialPluginAllowlist: [{name: %q}] there.\n", path, command)
	}
	return err
}

// adopt takes the discovery document's settings for every flag the user left
// unset.
func (o *setupOptions) adopt(fs *pflag.FlagSet, d setup.Discovery) {
	if !fs.Changed("issuer-url") {
		o.issuerURL = d.IssuerURL
	}
	if !fs.Changed("client-id") {
		o.clientID = d.ClientID
	}
	if !fs.Changed("extra-scope") {
		o.extraScopes = d.ExtraScopes
	}
}

// trust asks the user about a certificate no known CA verifies. It names the CA the discovery
// document publishes when that CA signs the certificate: the fingerprint the onboarding page
// shows, which outlives the certificate's renewals, so it is the one to pin with
// --trust-fingerprint.
func (o *setupOptions) trust(s streams) setup.TrustFunc {
	return func(f setup.Fingerprints) (bool, error) {
		pin, signed := f.Certificate, ""
		if f.CA != "" {
			pin, signed = f.CA, fmt.Sprintf(" and its CA %s", f.CA)
		}
		if o.trustFingerprint != "" {
			if f.Match(o.trustFingerprint) {
				return true, nil
			}
			return false, fmt.Errorf("--trust-fingerprint: the proxy's certificate has fingerprint %s%s", f.Certificate, signed)
		}
		_, _ = fmt.Fprintf(s.err, "No known CA verifies the certificate of %s.\nIts fingerprint is %s\n", o.server, f.Certificate)
		if f.CA != "" { // named by the server itself: only a comparison makes it worth anything
			_, _ = fmt.Fprintf(s.err, "It is signed by the CA the server's discovery document names: %s\n"+
				"Compare it with what your platform team published (the onboarding page, if you opened it over a connection you trust).\n", f.CA)
		}
		_, _ = fmt.Fprint(s.err, "Trust it? [y/N] ")
		line, err := bufio.NewReader(s.in).ReadString('\n')
		if err != nil && line == "" {
			return false, errors.New("the proxy's certificate is not verified by a known CA: pass --server-certificate-authority or --trust-fingerprint " + pin)
		}
		return strings.EqualFold(strings.TrimSpace(line), "y") || strings.EqualFold(strings.TrimSpace(line), "yes"), nil
	}
}

// printLogin and printReview show what the identity provider and the proxy
// say, quoted: the quotes show a name's leading or trailing white space, and
// %q escapes what could drive the terminal.
func printLogin(s streams, token string) error {
	c, err := decodeClaims(token)
	if err != nil {
		return nil //nolint:nilerr // an access token (--use-access-token) need not be a JWT
	}
	_, err = fmt.Fprintf(s.out, "Logged in at %q as %q (email %q, groups %q).\n", c.Issuer, c.Subject, c.Email, c.Groups)
	return err
}

// explainRefusal adds to the proxy's 401 which of the claims it reads (from
// its discovery document) the token lacks: most often a scope the login did
// not ask for. A kubeconfig is written only for a token the proxy accepts.
func explainRefusal(err error, claims []string, token string) error {
	var refused *setup.RefusedError
	if !errors.As(err, &refused) || len(claims) == 0 {
		return err
	}
	has, decodeErr := claimNames(token)
	switch {
	case decodeErr != nil:
		return fmt.Errorf("%w; the proxy reads the claims %q; no kubeconfig was written", err, claims)
	case len(missing(claims, has)) == 0:
		return fmt.Errorf("%w; the token carries every claim the proxy reads (%q): the proxy's log says why it refused it; no kubeconfig was written", err, claims)
	}
	return fmt.Errorf("%w; the proxy reads the claims %q and the token lacks %q (an identity provider adds claims for the scopes asked for, --extra-scope, or by its own settings); no kubeconfig was written",
		err, claims, missing(claims, has))
}

// claimNames are the names of the token's claims that hold a value.
func claimNames(token string) (map[string]bool, error) {
	var c map[string]json.RawMessage
	if err := jwtclaims.Decode(token, &c); err != nil {
		return nil, err
	}
	has := map[string]bool{}
	for k, v := range c {
		has[k] = string(v) != "null"
	}
	return has, nil
}

func missing(claims []string, has map[string]bool) []string {
	var out []string
	for _, c := range claims {
		if !has[c] {
			out = append(out, c)
		}
	}
	return out
}

func printReview(s streams, id setup.Identity) {
	_, _ = fmt.Fprintf(s.out, "Through the proxy, the cluster sees you as user %q, groups %q", id.Username, id.Groups)
	if ip := id.Extra["aksoidc.io/client-ip"]; len(ip) > 0 {
		_, _ = fmt.Fprintf(s.out, ", client IP %q", strings.Join(ip, ","))
	}
	_, _ = fmt.Fprintln(s.out, ".")
}

func (o *setupOptions) kubeconfigEntry(fs *pflag.FlagSet, caData []byte) setup.Kubeconfig {
	name := o.name
	if name == "" {
		name = defaultName(o.server, o.clientID)
	}
	return setup.Kubeconfig{
		Path: o.kubeconfig, Name: name, Server: o.server, CAData: caData,
		Command: o.command(), Args: o.execArgs(fs),
	}
}

func write(s streams, k setup.Kubeconfig) error {
	k.EnvPaths = s.getenv("KUBECONFIG")
	files, err := setup.Write(k)
	if err != nil {
		return err
	}
	path := strings.Join(files, " and ")
	if k.Server == "" {
		_, err = fmt.Fprintf(s.out, "Wrote user %q to %s. Pair it with a cluster: kubectl config set-context NAME --cluster CLUSTER --user %s\n", k.Name, path, k.Name)
		return err
	}
	_, err = fmt.Fprintf(s.out, "Wrote cluster, user and context %q to %s. Try: kubectl --context %s auth whoami\n", k.Name, path, k.Name)
	return err
}

func defaultName(server, clientID string) string {
	if u, err := url.Parse(server); err == nil && u.Host != "" {
		return "aksoidc-" + u.Hostname()
	}
	return "aksoidc-" + clientID
}

// command is the absolute path of the plugin as found on PATH: GUI apps that
// run kubectl often lack krew's bin directory on their PATH. The PATH entry
// (krew's symlink) is kept as it is, so it survives upgrades.
func (o *setupOptions) command() string {
	if o.execCommand != "" {
		return o.execCommand
	}
	if p, err := exec.LookPath("kubectl-aksoidc"); err == nil {
		return p
	}
	if p, err := os.Executable(); err == nil {
		return p
	}
	return "kubectl-aksoidc"
}

// execArgs are get-token's arguments: the flags the user set, minus setup's
// own, plus what discovery supplied, so get-token computes the same cache key
// and finds the token this login stored.
func (o *setupOptions) execArgs(fs *pflag.FlagSet) []string {
	args := []string{"get-token", "--issuer-url=" + o.issuerURL, "--client-id=" + o.clientID}
	for _, sc := range o.extraScopes {
		args = append(args, "--extra-scope="+sc)
	}
	fs.Visit(func(f *pflag.Flag) {
		switch {
		case setupOnly[f.Name], f.Name == "issuer-url", f.Name == "client-id", f.Name == "extra-scope":
		case f.Value.Type() == "stringArray" || f.Value.Type() == "stringSlice":
			for _, v := range f.Value.(pflag.SliceValue).GetSlice() {
				args = append(args, "--"+f.Name+"="+v)
			}
		default:
			args = append(args, "--"+f.Name+"="+f.Value.String())
		}
	})
	return args
}
