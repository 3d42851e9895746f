package login

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/aksoidc/aksoidc/pkg/tokencache"
	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/int128/oauth2cli"
	"golang.org/x/oauth2"
)

const successHTML = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Signed in</title>
<script>window.close()</script></head><body><h1>Signed in</h1><p>kubectl-aksoidc has your token. You can close this window.</p></body></html>`

// browserLogin runs the authorization-code flow with PKCE through a loopback
// listener and the user's browser.
func (c *client) browserLogin(ctx context.Context) (tokencache.Entry, error) {
	verifier, nonce, err := secrets()
	if err != nil {
		return tokencache.Entry{}, err
	}
	addr, err := freeAddress(c.cfg.ListenAddresses)
	if err != nil {
		return tokencache.Entry{}, err
	}
	conf := c.oauth2
	// The redirect names the address actually bound, not "localhost", which
	// may resolve to ::1 while the listener is on 127.0.0.1.
	conf.RedirectURL = "http://" + addr + "/"
	authOpts := append(c.authOptions(verifier), oidc.Nonce(nonce))
	if err := c.preflight(ctx, conf.AuthCodeURL("preflight", authOpts...)); err != nil {
		return tokencache.Entry{}, err
	}
	ready := make(chan string, 1)
	go c.openWhenReady(ctx, ready)
	tok, err := oauth2cli.GetToken(ctx, oauth2cli.Config{
		OAuth2Config:           conf,
		AuthCodeOptions:        authOpts,
		TokenRequestOptions:    []oauth2.AuthCodeOption{oauth2.VerifierOption(verifier)},
		LocalServerBindAddress: []string{addr},
		LocalServerReadyChan:   ready,
		LocalServerSuccessHTML: successHTML,
		Logf:                   func(f string, a ...any) { c.cfg.Log.Printf(3, f, a...) },
	})
	if err != nil {
		return tokencache.Entry{}, authCodeError(ctx, err)
	}
	return c.entry(ctx, tok, nonce)
}

func (c *client) openWhenReady(ctx context.Context, ready <-chan string) {
	select {
	case url := <-ready:
		if c.cfg.Browser == nil {
			_, _ = fmt.Fprintf(c.cfg.Stderr, "Open %s in your browser to log in.\n", url)
			return
		}
		c.cfg.Log.Printf(1, "opening %s in the browser", url)
		if err := c.cfg.Browser.Open(ctx, url); err != nil {
			_, _ = fmt.Fprintf(c.cfg.Stderr, "Could not open the browser (%v). Open %s to log in.\n", err, url)
		}
	case <-ctx.Done():
	}
}

func secrets() (verifier, nonce string, err error) {
	nonce, err = randomString()
	if err != nil {
		return "", "", err
	}
	return oauth2.GenerateVerifier(), nonce, nil
}

// freeAddress returns the first candidate that can be bound now, with port 0
// resolved, so that the redirect URL and the listener agree.
func freeAddress(candidates []string) (string, error) {
	var errs []string
	for _, a := range candidates {
		l, err := net.Listen("tcp", a) //nolint:noctx // a probe, closed at once
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		addr := l.Addr().String()
		if err := l.Close(); err != nil {
			return "", fmt.Errorf("close probe listener %s: %w", addr, err)
		}
		return addr, nil
	}
	return "", fmt.Errorf("no free loopback address for the login callback (--listen-address %s): %s",
		strings.Join(candidates, ","), strings.Join(errs, "; "))
}

// authCodeError replaces oauth2cli's nested messages with one line.
func authCodeError(ctx context.Context, err error) error {
	msg := err.Error()
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("browser login: %w", context.Cause(ctx))
	case strings.Contains(msg, "state does not match"):
		return errors.New("browser login: the state parameter of the callback does not match this login (a stale or forged redirect)")
	case strings.Contains(msg, "authorization error from server"):
		return fmt.Errorf("browser login: the issuer refused: %s", EscapeControl(msg[strings.LastIndex(msg, "server: ")+len("server: "):]))
	}
	return fmt.Errorf("browser login: %w", shortenEndpointError(err))
}
