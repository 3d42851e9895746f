package login

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/aksoidc/aksoidc/pkg/tokencache"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// client talks to one issuer. It exists only off the cache-hit path, because
// creating it costs a discovery request.
type client struct {
	cfg      Config
	hc       *http.Client
	oauth2   oauth2.Config
	verifier *oidc.IDTokenVerifier
}

func newClient(ctx context.Context, cfg Config) (*client, error) {
	p, hc, err := discover(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &client{
		cfg: cfg,
		hc:  hc,
		oauth2: oauth2.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			Endpoint:     p.Endpoint(),
			Scopes:       cfg.Scopes(),
		},
		verifier: p.Verifier(&oidc.Config{ClientID: cfg.ClientID, Now: cfg.now}),
	}, nil
}

// discover reads the issuer's discovery document with the HTTP client cfg asks for.
func discover(ctx context.Context, cfg Config) (*oidc.Provider, *http.Client, error) {
	hc := cfg.HTTPClient
	if hc == nil {
		var err error
		if hc, err = NewHTTPClient(cfg.TLS, cfg.Log); err != nil {
			return nil, nil, err
		}
		if cfg.TLS.InsecureSkipVerify {
			cfg.Log.Printf(0, "warning: --insecure-skip-tls-verify: the issuer's TLS certificate is not verified")
		}
	}
	p, err := oidc.NewProvider(withHTTPClient(ctx, hc), cfg.IssuerURL)
	if err != nil {
		return nil, nil, fmt.Errorf("--issuer-url %s: discovery failed: %w", cfg.IssuerURL, unwrapURLError(err))
	}
	return p, hc, nil
}

// unwrapURLError drops a *url.Error's URL: the issuer's, said already, or one that could
// carry what the request sent.
func unwrapURLError(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return uerr.Err
	}
	return err
}

func withHTTPClient(ctx context.Context, hc *http.Client) context.Context {
	// go-oidc and x/oauth2 each look up their own context key.
	ctx = oidc.ClientContext(ctx, hc)
	return context.WithValue(ctx, oauth2.HTTPClient, hc)
}

func (c *client) login(ctx context.Context) (tokencache.Entry, error) {
	ctx = withHTTPClient(ctx, c.hc)
	switch c.cfg.GrantType {
	case AuthCodeKeyboard:
		return c.keyboardLogin(ctx)
	case DeviceCode:
		return c.deviceLogin(ctx)
	default:
		return c.browserLogin(ctx)
	}
}

func (c *client) refresh(ctx context.Context, refreshToken string) (tokencache.Entry, error) {
	ctx = withHTTPClient(ctx, c.hc)
	c.cfg.Log.Printf(1, "refreshing the token")
	expired := &oauth2.Token{RefreshToken: refreshToken, Expiry: time.Unix(1, 0)}
	tok, err := c.oauth2.TokenSource(ctx, expired).Token()
	if err != nil {
		return tokencache.Entry{}, fmt.Errorf("refresh token: %w", shortenEndpointError(err))
	}
	e, err := c.entry(ctx, tok, "")
	if err != nil {
		return tokencache.Entry{}, err
	}
	if e.RefreshToken == "" {
		// The issuer did not rotate it: the old one stays good.
		e.RefreshToken = refreshToken
	}
	return e, nil
}

// entry verifies the ID token of a token response and turns it into a cache
// entry. nonce is checked when the request sent one.
func (c *client) entry(ctx context.Context, tok *oauth2.Token, nonce string) (tokencache.Entry, error) {
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return tokencache.Entry{}, errors.New("the token response has no id_token (is scope openid allowed for this client?)")
	}
	idt, err := c.verifier.Verify(ctx, raw)
	if err != nil {
		return tokencache.Entry{}, fmt.Errorf("verify ID token: %w", err)
	}
	if nonce != "" && idt.Nonce != nonce {
		return tokencache.Entry{}, errors.New("verify ID token: claim nonce does not match the one this login sent")
	}
	e := tokencache.Entry{IDToken: raw, AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, Expiry: idt.Expiry}
	if c.cfg.UseAccessToken {
		if tok.AccessToken == "" {
			return tokencache.Entry{}, errors.New("the token response has no access_token (--use-access-token)")
		}
		if !tok.Expiry.IsZero() {
			e.Expiry = tok.Expiry
		}
	}
	c.cfg.Log.Printf(1, "got a token for subject %q valid until %s", idt.Subject, e.Expiry.Format(time.RFC3339))
	return e, nil
}

// authOptions are the parameters every authorization request carries.
func (c *client) authOptions(verifier string) []oauth2.AuthCodeOption {
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}
	for k, v := range c.cfg.ExtraParams {
		opts = append(opts, oauth2.SetAuthURLParam(k, v))
	}
	return opts
}

func randomString() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("read random bytes: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
