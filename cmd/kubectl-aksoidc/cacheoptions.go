package main

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aksoidc/aksoidc/pkg/login"
	"github.com/aksoidc/aksoidc/pkg/tokencache"
	"github.com/aksoidc/aksoidc/pkg/wellknown"
	"github.com/spf13/pflag"
)

// cacheOptions are the flags that pick a cache entry; get-token, logout and
// whoami share them so each finds the entry the others wrote.
type cacheOptions struct {
	issuerURL      string
	clientID       string
	extraScopes    []string
	grantType      string
	useAccessToken bool
	extraParams    []string
	storage        string
	cacheDir       string
	verbosity      int

	// Filled by complete.
	params map[string]string
	log    login.Logger
}

func (o *cacheOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.issuerURL, "issuer-url", "", "OIDC issuer URL (required)")
	fs.StringVar(&o.clientID, "client-id", "", "OAuth client ID (required)")
	fs.StringArrayVar(&o.extraScopes, "extra-scope", nil, "scope to request besides openid and offline_access (repeatable)")
	fs.StringVar(&o.grantType, "grant-type", string(login.AuthCode), "login flow: authcode, authcode-keyboard or device-code")
	fs.BoolVar(&o.useAccessToken, "use-access-token", false, "hand kubectl the access token instead of the ID token")
	fs.StringArrayVar(&o.extraParams, "auth-request-extra-param", nil, "key=value added to the authorization request (repeatable)")
	fs.StringVar(&o.storage, "token-cache-storage", string(login.KeyringStorage), "where tokens are kept: keyring (falls back to file), file or none")
	fs.StringVar(&o.cacheDir, "token-cache-dir", defaultCacheDir(),
		"directory of the file cache and the lock files; it must be yours and writable by nobody else, or it is not used. "+
			"Unset: $XDG_CACHE_HOME/kubectl-aksoidc, else ~/.kube/cache/aksoidc, else the OS user cache dir, "+
			"else <temp dir>/kubectl-aksoidc-<uid>")
	fs.IntVarP(&o.verbosity, "v", "v", 0, "log verbosity on stderr (1: decisions, 6: HTTP requests)")
}

func defaultCacheDir() string {
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "kubectl-aksoidc")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".kube", "cache", "aksoidc")
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "kubectl-aksoidc")
	}
	// Every user shares the temp dir: the uid keeps their caches apart, and
	// one another user made first under this name is refused (complete).
	return filepath.Join(os.TempDir(), fmt.Sprintf("kubectl-aksoidc-%d", os.Geteuid()))
}

// validate reports every problem at once.
func (o *cacheOptions) validate(needIssuer bool) []error {
	var errs []error
	if needIssuer {
		errs = append(errs, validateIssuer(o.issuerURL))
		if o.clientID == "" {
			errs = append(errs, errors.New("--client-id is required"))
		}
	}
	grants := []string{string(login.AuthCode), string(login.AuthCodeKeyboard), string(login.DeviceCode)}
	if !slices.Contains(grants, o.grantType) {
		errs = append(errs, fmt.Errorf("--grant-type %q: want one of %s", o.grantType, strings.Join(grants, ", ")))
	}
	if !slices.Contains(login.Storages, login.Storage(o.storage)) {
		errs = append(errs, fmt.Errorf("--token-cache-storage %q: want keyring, file or none", o.storage))
	}
	for _, p := range o.extraParams {
		if k, _, ok := strings.Cut(p, "="); !ok || k == "" {
			errs = append(errs, fmt.Errorf("--auth-request-extra-param %q: want key=value", p))
		}
	}
	if o.cacheDir == "" {
		errs = append(errs, errors.New("--token-cache-dir: want a directory"))
	}
	return errs
}

// validateIssuer refuses plain HTTP except on loopback, where no one can
// read the traffic (local test issuers, port-forwards).
func validateIssuer(raw string) error {
	if raw == "" {
		return errors.New("--issuer-url is required")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("--issuer-url %q: not an absolute URL", raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if wellknown.IsLoopbackHost(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("--issuer-url %q: plain http is allowed only for a loopback host; use https", raw)
	default:
		return fmt.Errorf("--issuer-url %q: scheme must be https", raw)
	}
}

func (o *cacheOptions) complete(s streams) {
	o.params = map[string]string{}
	for _, p := range o.extraParams {
		k, v, _ := strings.Cut(p, "=")
		o.params[k] = v
	}
	o.log = login.Logger{W: s.err, Verbosity: o.verbosity}
	o.refuseUnsafeCacheDir(s)
}

// refuseUnsafeCacheDir gives up the cache dir when it belongs to another user
// or others may write to it: its entries, locks and failure marks are never
// read or written, yet a cache problem must not fail a login, so the login
// goes on (keyring only, or nothing kept) after one warning. tokencache takes
// an empty dir to mean no dir.
func (o *cacheOptions) refuseUnsafeCacheDir(s streams) {
	if err := tokencache.CheckDir(o.cacheDir); err != nil {
		_, _ = fmt.Fprintf(s.err, "warning: %v: it is not used; fix it or choose another --token-cache-dir\n", err)
		o.cacheDir = ""
	}
}

// settings pick the token and its cache entry; pkg/login builds the key from them for
// every command alike.
func (o *cacheOptions) settings() login.Settings {
	return login.Settings{
		IssuerURL: o.issuerURL, ClientID: o.clientID, ExtraScopes: o.extraScopes, ExtraParams: o.params,
		GrantType: login.GrantType(o.grantType), UseAccessToken: o.useAccessToken,
	}
}

func (o *cacheOptions) cache() tokencache.Store {
	return login.OpenCache(login.Storage(o.storage), o.cacheDir, o.log)
}
