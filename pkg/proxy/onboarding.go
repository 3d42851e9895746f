package proxy

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"embed"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/aksoidc/aksoidc/pkg/setup"
	"github.com/aksoidc/aksoidc/pkg/wellknown"
)

// OnboardingConfig is what the onboarding page shows besides the discovery document: everything
// on it comes from configuration, never from the request (a Host header is the client's to
// choose, and a page that echoed it would hand out a kubeconfig for any server).
type OnboardingConfig struct {
	// ServerURL is the URL users reach the proxy at, as the operator configured it.
	ServerURL string
	// DisplayName names the cluster on the page (default: ServerURL's host).
	DisplayName string
	// Message is an optional note, such as the support channel.
	Message string
	// Document returns the discovery document in force (Discovery.Document), so that the page
	// and the kubeconfig follow reloads of the authentication configuration.
	Document func() wellknown.Document
	Logger   *slog.Logger
}

// Bounds of the page's texts, in characters: a name for a heading, a message of a few lines.
const (
	MaxDisplayName = 100
	MaxMessage     = 1000
	// kubeconfigCommand is what the downloaded kubeconfig runs: krew and the release archive
	// both put kubectl-aksoidc on PATH; the user's own path is not the proxy's to know.
	kubeconfigCommand = "kubectl-aksoidc"
)

var (
	//go:embed onboarding
	onboardingFiles embed.FS
	onboardingPage  = template.Must(template.ParseFS(onboardingFiles, "onboarding/page.html.tmpl"))
	pageStyle       = mustRead("onboarding/page.css")
	pageScript      = mustRead("onboarding/page.js")
	// onboardingCSP allows the page's one style and one script by hash, and nothing else: no
	// inline handler, no other origin, no framing.
	onboardingCSP = "default-src 'none'; style-src '" + sha256Source(pageStyle) + "'; script-src '" + sha256Source(pageScript) +
		"'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

func mustRead(name string) string {
	b, err := onboardingFiles.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func sha256Source(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

// ValidateServerURL wants an https URL with a host and nothing else: no user info, query or
// fragment, which would end up in every user's kubeconfig.
func ValidateServerURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return errors.New("not a URL")
	case u.Scheme != "https" || u.Host == "" || u.Hostname() == "":
		return errors.New("want an https URL with a host")
	case u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.TrimSuffix(u.Path, "/") != "":
		return errors.New("want only scheme, host and port: no path, user info, query or fragment")
	case !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0:
		return errors.New("holds a control character")
	}
	return nil
}

// ValidateOnboardingText wants text for people: valid UTF-8, at most max characters, and no
// control character other than a line break.
func ValidateOnboardingText(s string, maxChars int) error {
	switch {
	case !utf8.ValidString(s):
		return errors.New("not valid UTF-8")
	case utf8.RuneCountInString(s) > maxChars:
		return fmt.Errorf("longer than %d characters", maxChars)
	case strings.IndexFunc(s, func(r rune) bool { return r != '\n' && unicode.IsControl(r) }) >= 0:
		return errors.New("holds a control character")
	}
	return nil
}

// Validate reports every setting the page cannot use, all at once.
func (c OnboardingConfig) Validate() error {
	var errs []error
	if err := ValidateServerURL(c.ServerURL); err != nil {
		errs = append(errs, fmt.Errorf("server URL %q: %w", c.ServerURL, err))
	}
	if err := ValidateOnboardingText(c.DisplayName, MaxDisplayName); err != nil {
		errs = append(errs, fmt.Errorf("display name: %w", err))
	}
	if err := ValidateOnboardingText(c.Message, MaxMessage); err != nil {
		errs = append(errs, fmt.Errorf("message: %w", err))
	}
	if c.Document == nil || c.Logger == nil {
		errs = append(errs, errors.New("onboarding: Document and Logger are required"))
	}
	return errors.Join(errs...)
}

// Onboarding serves the page at / and the kubeconfig at /kubeconfig (see isOnboardingRequest).
type Onboarding struct {
	cfg  OnboardingConfig
	name string // of the kubeconfig's entries, as setup names them by default
}

// NewOnboarding returns the onboarding handler.
func NewOnboarding(cfg OnboardingConfig) (*Onboarding, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.ServerURL = strings.TrimSuffix(cfg.ServerURL, "/")
	u, _ := url.Parse(cfg.ServerURL) // validated
	if cfg.DisplayName == "" {
		cfg.DisplayName = u.Hostname()
	}
	return &Onboarding{cfg: cfg, name: "aksoidc-" + u.Hostname()}, nil
}

func (o *Onboarding) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", onboardingCSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	// The configuration may be reloaded at any time; both answers are cheap to build.
	h.Set("Cache-Control", "no-store")
	h.Set("Vary", "Accept, Authorization")
	doc := o.cfg.Document()
	var body []byte
	var err error
	if r.URL.Path == kubeconfigPath {
		body, err = o.kubeconfig(doc)
		h.Set("Content-Type", "application/yaml; charset=utf-8")
		h.Set("Content-Disposition", `attachment; filename="`+o.fileName()+`"`)
	} else {
		body, err = o.page(doc)
		h.Set("Content-Type", "text/html; charset=utf-8")
	}
	if err != nil {
		o.cfg.Logger.Error("onboarding page not served", "path", r.URL.Path, "error", err)
		for _, k := range []string{"Content-Disposition", "Content-Security-Policy"} {
			h.Del(k)
		}
		h.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("internal error; the proxy's log says why\n"))
		return
	}
	_, _ = w.Write(body) //nolint:gosec // html/template escaped the page; the kubeconfig is YAML with quoted values, sent as an attachment
}

// fileName is the kubeconfig's download name: the entries' name, with anything but letters,
// digits, dots and dashes (an IPv6 address's colons) replaced.
func (o *Onboarding) fileName() string {
	return notFileNameSafe.ReplaceAllString(o.name, "-") + ".kubeconfig"
}

var notFileNameSafe = regexp.MustCompile(`[^A-Za-z0-9.-]`)

// kubeconfig is what `kubectl aksoidc setup --server` writes for this proxy, built by the same
// code; it holds no credential, only how to get one.
func (o *Onboarding) kubeconfig(doc wellknown.Document) ([]byte, error) {
	args := []string{"get-token", "--issuer-url=" + doc.IssuerURL, "--client-id=" + doc.ClientID}
	for _, s := range doc.ExtraScopes {
		args = append(args, "--extra-scope="+s)
	}
	k := setup.Kubeconfig{Name: o.name, Server: o.cfg.ServerURL, CAData: doc.CertificateAuthorityData,
		Command: kubeconfigCommand, Args: args}
	return k.Standalone()
}

type pageData struct {
	DisplayName, Message, ServerURL string
	IssuerURL, ClientID, Scopes     string
	CAFingerprints                  []string
	KubeconfigFile                  string
	Style                           template.CSS
	Script                          template.JS
}

func (o *Onboarding) page(doc wellknown.Document) ([]byte, error) {
	data := pageData{
		DisplayName: o.cfg.DisplayName, Message: o.cfg.Message, ServerURL: o.cfg.ServerURL,
		IssuerURL: doc.IssuerURL, ClientID: doc.ClientID, Scopes: strings.Join(doc.ExtraScopes, " "),
		CAFingerprints: caFingerprints(doc.CertificateAuthorityData), KubeconfigFile: o.fileName(),
		// Constants of the binary, whose hashes the CSP names: never data.
		Style: template.CSS(pageStyle), Script: template.JS(pageScript), //nolint:gosec // embedded files
	}
	var buf bytes.Buffer
	if err := onboardingPage.Execute(&buf, data); err != nil {
		return nil, fmt.Errorf("onboarding page: %w", err)
	}
	return buf.Bytes(), nil
}

// caFingerprints are the SHA-256 fingerprints of the published CA certificates, written as
// `kubectl aksoidc setup` shows them when it asks whether to trust the proxy.
func caFingerprints(bundle []byte) []string {
	var out []string
	for block, rest := pem.Decode(bundle); block != nil; block, rest = pem.Decode(rest) {
		if _, err := x509.ParseCertificate(block.Bytes); block.Type != "CERTIFICATE" || err != nil {
			continue
		}
		out = append(out, setup.Fingerprint(block.Bytes))
	}
	return out
}
