package login

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aksoidc/aksoidc/pkg/tokencache"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// ErrNotInteractive reports that a flow needs a terminal kubectl did not give.
var ErrNotInteractive = errors.New("this login needs a terminal, but kubectl runs the plugin non-interactively")

// keyboardLogin is the authorization-code flow for hosts without a browser
// (SSH): the user opens the URL elsewhere and pastes the code back.
func (c *client) keyboardLogin(ctx context.Context) (tokencache.Entry, error) {
	if !c.cfg.Interactive || c.cfg.Stdin == nil {
		return tokencache.Entry{}, fmt.Errorf("%s login: %w", AuthCodeKeyboard, ErrNotInteractive)
	}
	verifier, nonce, err := secrets()
	if err != nil {
		return tokencache.Entry{}, err
	}
	state, err := randomString()
	if err != nil {
		return tokencache.Entry{}, err
	}
	conf := c.oauth2
	conf.RedirectURL = c.cfg.RedirectURL
	url := conf.AuthCodeURL(state, append(c.authOptions(verifier), oidc.Nonce(nonce))...)
	// The URL starts with the issuer's authorization_endpoint, verbatim.
	_, _ = fmt.Fprintf(c.cfg.Stderr, "Open this URL in a browser and log in:\n\n%s\n\nEnter the code: ", EscapeControl(url))
	code, err := readLine(ctx, c.cfg)
	if err != nil {
		return tokencache.Entry{}, err
	}
	tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return tokencache.Entry{}, fmt.Errorf("exchange the code: %w", shortenEndpointError(err))
	}
	return c.entry(ctx, tok, nonce)
}

// readLine reads one line from stdin, giving up when ctx ends.
func readLine(ctx context.Context, cfg Config) (string, error) {
	type result struct {
		line string
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		line, err := bufio.NewReader(cfg.Stdin).ReadString('\n')
		ch <- result{strings.TrimSpace(line), err}
	}()
	select {
	case r := <-ch:
		if r.line == "" {
			return "", fmt.Errorf("read the code from stdin: no code entered (%v)", r.err)
		}
		return r.line, nil
	case <-ctx.Done():
		return "", fmt.Errorf("read the code from stdin: %w", context.Cause(ctx))
	}
}
