// Command kubectl-aksoidc is a kubectl exec credential plugin that signs users
// in with any OIDC identity provider.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/aksoidc/aksoidc/internal/version"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, version.String())
	stop()
	os.Exit(code)
}
