package login

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/aksoidc/aksoidc/pkg/tokencache"
	"github.com/aksoidc/aksoidc/pkg/wellknown"
)

// LogoutResult says what Logout did beyond forgetting the token locally.
type LogoutResult struct {
	// Found is whether any store held a token for the settings.
	Found bool
	// Revoked: the issuer accepted the revocation of the refresh token (RFC 7009).
	Revoked bool
	// NoRevocationEndpoint: the issuer's discovery lists no revocation_endpoint, so the
	// refresh token stays valid at the issuer until it expires.
	NoRevocationEndpoint bool
	// RevocationErr is why revoking failed; the local token is forgotten all the same.
	RevocationErr error
}

// Logout forgets the token of cfg.Settings in every one of stores (EveryCache: the
// keyring may be absent, which means it holds nothing), after revoking its refresh token at
// the issuer when the issuer's discovery document lists a revocation_endpoint. A failed
// revocation is reported in the result and never keeps the local token: the user asked to
// be logged out here, whatever the issuer says.
func Logout(ctx context.Context, cfg Config, stores []tokencache.Store) (LogoutResult, error) {
	id := cfg.CacheKey().ID()
	var res LogoutResult
	// Every copy's refresh token: after a keyring fault the keyring and the file may hold
	// different ones (Fallback keeps the newer), and each stays valid at the issuer until revoked.
	var refresh []string
	for _, st := range stores {
		if e, err := st.Load(id); err == nil {
			res.Found = true
			if e.RefreshToken != "" && !slices.Contains(refresh, e.RefreshToken) {
				refresh = append(refresh, e.RefreshToken)
			}
		}
	}
	var errs []error
	revokedAll := len(refresh) > 0
	for _, r := range refresh {
		revoked, err := revoke(ctx, cfg, r)
		errs = append(errs, err)
		revokedAll = revokedAll && revoked
		res.NoRevocationEndpoint = !revoked && err == nil
	}
	res.RevocationErr = errors.Join(errs...)
	res.Revoked = revokedAll && res.RevocationErr == nil
	return res, forget(stores, cfg.Log, func(st tokencache.Store) error { return st.Delete(id) })
}

// LogoutAll forgets every cached token in every one of stores (EveryCache); it revokes none,
// since an entry does not say which issuer and client it came from.
func LogoutAll(stores []tokencache.Store, log Logger) error {
	return forget(stores, log, tokencache.Store.DeleteAll)
}

// forget runs del on every store. The keyring, first of several, may simply be absent, which
// means nothing was stored there; but one that failed mid-call (stopped, killed) may still hold
// the token, and saying "removed" would leave it to come back when the keyring does.
func forget(stores []tokencache.Store, log Logger, del func(tokencache.Store) error) error {
	var errs []error
	for i, st := range stores {
		err := del(st)
		switch {
		case errors.Is(err, tokencache.ErrKeyringFault):
			errs = append(errs, fmt.Errorf("the OS keyring did not answer (%w), so it may still hold the token: run logout again once it does", err))
		case err != nil && i == 0 && len(stores) > 1:
			log.Printf(1, "skipping the OS keyring: %v", err)
		case err != nil:
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// revocationTimeout bounds the whole revocation: logging out must not hang on an issuer.
const revocationTimeout = 10 * time.Second

// revoke asks the issuer to revoke refreshToken (RFC 7009 section 2.1), authenticating as
// the client as the token request does. It reports false, nil when the issuer has no
// revocation endpoint.
func revoke(ctx context.Context, cfg Config, refreshToken string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, revocationTimeout)
	defer cancel()
	p, hc, err := discover(ctx, cfg)
	if err != nil {
		return false, err
	}
	var meta struct {
		RevocationEndpoint string `json:"revocation_endpoint"`
	}
	if err := p.Claims(&meta); err != nil || meta.RevocationEndpoint == "" {
		return false, nil
	}
	endpoint, err := url.Parse(meta.RevocationEndpoint)
	// The refresh token goes there: over TLS, or plain http only on this machine, as the
	// issuer URL itself.
	if err != nil || endpoint.Scheme != "https" && (endpoint.Scheme != "http" || !wellknown.IsLoopbackHost(endpoint.Hostname())) {
		return false, fmt.Errorf("the issuer's revocation_endpoint %q: want an https URL (http only on a loopback host)", meta.RevocationEndpoint)
	}
	form := url.Values{"token": {refreshToken}, "token_type_hint": {"refresh_token"}}
	if cfg.ClientSecret == "" {
		form.Set("client_id", cfg.ClientID)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return false, fmt.Errorf("revocation request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if cfg.ClientSecret != "" {
		req.SetBasicAuth(url.QueryEscape(cfg.ClientID), url.QueryEscape(cfg.ClientSecret))
	}
	resp, err := hc.Do(req)
	if err != nil {
		return false, fmt.Errorf("the revocation endpoint %s: %w", endpoint.Redacted(), unwrapURLError(err))
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return false, revocationError(resp.StatusCode, body)
	}
	return true, nil
}

// revocationError words the endpoint's refusal in one line; its error code and description
// are the identity provider's text, escaped so that they cannot drive the terminal.
func revocationError(status int, body []byte) error {
	var e struct {
		Code        string `json:"error"`
		Description string `json:"error_description"`
	}
	_ = json.Unmarshal(body, &e)
	switch {
	case e.Code == "":
		return fmt.Errorf("the revocation endpoint answered HTTP %d", status)
	case e.Description == "":
		return fmt.Errorf("the revocation endpoint answered HTTP %d %s", status, EscapeControl(e.Code))
	}
	return fmt.Errorf("the revocation endpoint answered HTTP %d %s: %q", status, EscapeControl(e.Code), e.Description)
}
