package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

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
		Short:   "Remove cached tokens from the keyring and the file cache",
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if err := joinErrors(o.cacheOptions.validate(!o.all)); err != nil {
				return err
			}
			o.cacheOptions.complete(s)
			return o.run(s)
		},
	}
	o.addFlags(cmd.Flags())
	cmd.Flags().BoolVar(&o.all, "all", false, "remove every cached token")
	return cmd
}

// run clears every store whatever --token-cache-storage says (login.EveryCache).
func (o *logoutOptions) run(s streams) error {
	id := o.settings().CacheKey().ID()
	var errs []error
	for i, st := range login.EveryCache(o.cacheDir) {
		var err error
		if o.all {
			err = st.DeleteAll()
		} else {
			err = st.Delete(id)
		}
		if err != nil && i == 0 {
			// No keyring means nothing was stored there.
			o.log.Printf(1, "skipping the OS keyring: %v", err)
			continue
		}
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	what := "the cached token for these settings"
	if o.all {
		what = "all cached tokens"
	}
	_, err := fmt.Fprintf(s.err, "Removed %s.\n", what)
	return err
}
