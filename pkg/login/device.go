package login

import (
	"context"
	"errors"
	"fmt"

	"github.com/aksoidc/aksoidc/pkg/tokencache"
	"golang.org/x/oauth2"
)

// deviceLogin runs the device authorization grant (RFC 8628). PKCE goes along
// because some issuers (Keycloak) require it on this flow too.
func (c *client) deviceLogin(ctx context.Context) (tokencache.Entry, error) {
	if !c.cfg.Interactive {
		return tokencache.Entry{}, fmt.Errorf("%s login: %w", DeviceCode, ErrNotInteractive)
	}
	if c.oauth2.Endpoint.DeviceAuthURL == "" {
		return tokencache.Entry{}, errors.New("device-code login: the issuer's discovery document has no device_authorization_endpoint")
	}
	verifier := oauth2.GenerateVerifier()
	da, err := c.oauth2.DeviceAuth(ctx, c.authOptions(verifier)...)
	if err != nil {
		return tokencache.Entry{}, fmt.Errorf("device-code login: %w", shortenEndpointError(err))
	}
	// The URI and the code are the issuer's text, shown to the user.
	if da.VerificationURIComplete != "" {
		_, _ = fmt.Fprintf(c.cfg.Stderr, "Open %s and confirm the code %s to log in.\n",
			EscapeControl(da.VerificationURIComplete), EscapeControl(da.UserCode))
	} else {
		_, _ = fmt.Fprintf(c.cfg.Stderr, "Open %s and enter the code %s to log in.\n", EscapeControl(da.VerificationURI), EscapeControl(da.UserCode))
	}
	tok, err := c.oauth2.DeviceAccessToken(ctx, da, oauth2.VerifierOption(verifier))
	if err != nil {
		if ctx.Err() != nil {
			return tokencache.Entry{}, fmt.Errorf("device-code login: %w", context.Cause(ctx))
		}
		return tokencache.Entry{}, fmt.Errorf("device-code login: %w", shortenEndpointError(err))
	}
	return c.entry(ctx, tok, "")
}
