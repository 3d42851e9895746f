package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aksoidc/aksoidc/internal/cli"
	"github.com/aksoidc/aksoidc/internal/jwtclaims"
	"github.com/aksoidc/aksoidc/pkg/login"
	"github.com/aksoidc/aksoidc/pkg/tokencache"
	"github.com/spf13/cobra"
)

func newWhoamiCommand(s streams) *cobra.Command {
	// Every get-token flag is accepted (see logoutOptions); only the cache
	// flags matter.
	o := &getTokenOptions{}
	cmd := &cobra.Command{
		Use:   "whoami --issuer-url URL --client-id ID [flags]",
		Short: "Show the identity of the cached token (never the token itself)",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			if err := cli.Usage(o.cacheOptions.validate(true)...); err != nil {
				return err
			}
			o.cacheOptions.complete(s)
			e, err := o.cache().Load(o.settings().CacheKey().ID())
			if errors.Is(err, tokencache.ErrNotFound) {
				return errors.New("no cached token for these settings; run get-token to log in")
			}
			if err != nil {
				return err
			}
			return printIdentity(s.out, e, time.Now())
		},
	}
	o.addFlags(cmd.Flags())
	return cmd
}

// idClaims are the claims whoami shows. The token was verified when it was
// cached; here it is only decoded for display.
type idClaims struct {
	Issuer  string   `json:"iss"`
	Subject string   `json:"sub"`
	Email   string   `json:"email"`
	Name    string   `json:"name"`
	Groups  []string `json:"groups"`
	Expiry  int64    `json:"exp"`
}

func decodeClaims(idToken string) (idClaims, error) {
	var c idClaims
	if err := jwtclaims.Decode(idToken, &c); err != nil {
		return idClaims{}, fmt.Errorf("the cached ID token: %w", err)
	}
	return c, nil
}

func printIdentity(w io.Writer, e tokencache.Entry, now time.Time) error {
	c, err := decodeClaims(e.IDToken)
	if err != nil {
		return err
	}
	expiry := time.Unix(c.Expiry, 0).UTC()
	state := "expires in " + expiry.Sub(now).Round(time.Second).String()
	if !expiry.After(now) {
		state = "expired; get-token refreshes it"
	}
	// The claims are the identity provider's text: escaped, they cannot
	// drive the terminal.
	esc := login.EscapeControl
	_, err = fmt.Fprintf(w, "Issuer:  %s\nSubject: %s\nName:    %s\nEmail:   %s\nGroups:  %s\nExpiry:  %s (%s)\n",
		esc(c.Issuer), esc(c.Subject), esc(c.Name), esc(c.Email), esc(strings.Join(c.Groups, ", ")), expiry.Format(time.RFC3339), state)
	return err
}
