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

// Ready reports whether every issuer's discovery document and signing keys can be loaded now.
func (a *Authenticator) Ready(ctx context.Context) error {
	set := a.current.Load()
	if err := set.healthy(); err != nil {
		return err
	}
	var errs []error
	for _, iss := range set.issuers {
		if err := iss.check.keysLoad(ctx); err != nil {
			errs = append(errs, fmt.Errorf("issuer %s: %w", iss.check.url, err))
		}
	}
	return errors.Join(errs...)
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
