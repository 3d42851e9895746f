package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/aksoidc/aksoidc/pkg/login"
	"github.com/spf13/cobra"
)

// streams are the process's standard streams; tests swap them.
type streams struct {
	in       io.Reader
	out, err io.Writer
	getenv   func(string) string
}

func run(ctx context.Context, args []string, version string) int {
	s := streams{in: os.Stdin, out: os.Stdout, err: os.Stderr, getenv: os.Getenv}
	return runWith(ctx, args, version, s)
}

func runWith(ctx context.Context, args []string, version string, s streams) int {
	root := newRootCommand(version, s)
	root.SetArgs(args[1:])
	if err := root.ExecuteContext(ctx); err != nil {
		// An error may quote a server or the identity provider anywhere in
		// its chain; escaped, it is one line that cannot drive the terminal.
		_, _ = fmt.Fprintf(s.err, "kubectl-aksoidc: %s\n", login.EscapeControl(err.Error()))
		return 1
	}
	return 0
}

func newRootCommand(version string, s streams) *cobra.Command {
	root := &cobra.Command{
		Use:           "kubectl-aksoidc",
		Short:         "Sign in to Kubernetes with any OIDC identity provider",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(s.in)
	root.SetOut(s.err) // help and usage are for humans: stderr
	root.SetErr(s.err)
	root.CompletionOptions.DisableDefaultCmd = true
	root.AddCommand(
		newGetTokenCommand(s),
		newLogoutCommand(s),
		newWhoamiCommand(s),
		newSetupCommand(s),
		newVersionCommand(version, s),
	)
	return root
}

func newVersionCommand(version string, s streams) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintf(s.out, "kubectl-aksoidc %s\n", version)
			return err
		},
	}
}
