package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/aksoidc/aksoidc/internal/cli"
	"github.com/aksoidc/aksoidc/internal/termtext"
	"github.com/aksoidc/aksoidc/pkg/login"
)

// logoutOptions accept every get-token flag, so the args of a kubeconfig's
// exec entry can be pasted as they are; only the cache flags matter.
type logoutOptions struct {
	getTokenOptions
	all bool
}

func newLogoutCommand(s streams) *cobra.Command {
	o := &logoutOptions{}
	cmd := &cobra.Command{
		Use:     "logout --issuer-url URL --client-id ID [flags] | logout --all",
		Aliases: []string{"clean"},
		Short:   "Revoke the refresh token at the identity provider (when it allows) and remove cached tokens from the keyring and the file cache",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cli.Usage(append(o.cacheOptions.validate(!o.all), o.readCAs()...)...); err != nil {
				return err
			}
			if o.all {
				o.cacheOptions.complete(s)
				return o.runAll(s)
			}
			cfg, _, err := o.complete(s)
			if err != nil {
				return err
			}
			return o.run(cmd.Context(), s, cfg)
		},
	}
	o.addFlags(cmd.Flags())
	cmd.Flags().BoolVar(&o.all, "all", false, "remove every cached token")
	return cmd
}

// run revokes and forgets the token of these settings in every store, whatever
// --token-cache-storage says (login.EveryCache).
func (o *logoutOptions) run(ctx context.Context, s streams, cfg login.Config) error {
	res, err := login.Logout(ctx, cfg, login.EveryCache(o.cacheDir))
	if err != nil {
		return err
	}
	var msg string
	switch {
	case !res.Found:
		msg = "No cached token for these settings."
	case res.Revoked:
		msg = "Revoked the refresh token at the identity provider and removed the cached token."
	case res.RevocationErr != nil:
		msg = fmt.Sprintf("Removed the cached token; revoking its refresh token at the identity provider failed (%v): it stays valid there until it expires.", res.RevocationErr)
	case res.NoRevocationEndpoint:
		msg = "Removed the cached token; the identity provider offers no revocation, so its refresh token stays valid there until it expires."
	default:
		msg = "Removed the cached token."
	}
	// The revocation error may quote the issuer's answer: escaped, it cannot drive the terminal.
	_, err = fmt.Fprintln(s.err, termtext.Escape(msg))
	return err
}

// runAll forgets every cached token (login.LogoutAll), whatever --token-cache-storage says.
func (o *logoutOptions) runAll(s streams) error {
	if err := login.LogoutAll(login.EveryCache(o.cacheDir), o.log); err != nil {
		return err
	}
	_, err := fmt.Fprintln(s.err, "Removed all cached tokens (none revoked at the identity provider).")
	return err
}
