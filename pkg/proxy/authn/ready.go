package authn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Ready reports whether the authenticator for the configuration in force is initialized: every
// issuer has loaded its discovery document and keys at least once since start or reload. After
// that an issuer's outage does not change the answer: its authenticator goes on verifying with
// the keys it holds, and taking every replica out of service would turn an identity provider's
// blip into an outage of all cluster access. IssuerChecks report the issuers' state.
func (a *Authenticator) Ready(ctx context.Context) error {
	return a.current.Load().healthy(ctx)
}

// IssuerCheck fetches one issuer's discovery document and keys now.
type IssuerCheck struct {
	URL   string
	Check func(context.Context) error
}

// IssuerChecks returns a check for each issuer of the configuration in force.
func (a *Authenticator) IssuerChecks() []IssuerCheck {
	set := a.current.Load()
	checks := make([]IssuerCheck, 0, len(set.issuers))
	for _, iss := range set.issuers {
		checks = append(checks, IssuerCheck{URL: iss.check.url, Check: iss.check.keysLoad})
	}
	return checks
}

func (c issuerCheck) keysLoad(ctx context.Context) error {
	discovery := c.discoveryURL
	if discovery == "" {
		discovery = strings.TrimSuffix(c.url, "/") + "/.well-known/openid-configuration"
	}
	var doc struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := c.getJSON(ctx, discovery, &doc); err != nil {
		return fmt.Errorf("discovery: %w", err)
	}
	if doc.JWKSURI == "" {
		return errors.New("discovery has no jwks_uri")
	}
	var keys struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := c.getJSON(ctx, doc.JWKSURI, &keys); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	if len(keys.Keys) == 0 {
		return fmt.Errorf("keys: %s lists no key", doc.JWKSURI)
	}
	return nil
}

func (c issuerCheck) getJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v)
}
