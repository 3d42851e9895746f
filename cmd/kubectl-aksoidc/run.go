package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aksoidc/aksoidc/internal/cli"
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
	err := root.ExecuteContext(ctx)
	if err != nil && strings.HasPrefix(err.Error(), "unknown command ") {
		// cobra's only word for a mistyped subcommand is its message.
		err = cli.Usage(fmt.Errorf("%w (see --help)", err))
	}
	// An error may quote a server or the identity provider anywhere in its chain: Report
	// escapes it, so it cannot drive the terminal.
	return cli.Report(s.err, "kubectl-aksoidc", err)
}

// noArgs refuses positional arguments as a usage error: every input is a flag.
func noArgs(_ *cobra.Command, args []string) error {
	if len(args) > 0 {
		return cli.Usage(fmt.Errorf("unexpected argument %q (see --help)", args[0]))
	}
	return nil
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
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return cli.FlagError(err) })
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
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintf(s.out, "kubectl-aksoidc %s\n", version)
			return err
		},
	}
}
