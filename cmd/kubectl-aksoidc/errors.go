package main

import "github.com/aksoidc/aksoidc/internal/cli"

// joinErrors is every problem of a command line as one usage error (exit 2, one line each:
// cli.Report), or nil.
func joinErrors(errs []error) error {
	return cli.Usage(errs...)
}
