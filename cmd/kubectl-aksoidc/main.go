// Command kubectl-aksoidc is a kubectl exec credential plugin that signs users
// in with any OIDC identity provider.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// version is stamped by the release build.
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, version)
	stop()
	os.Exit(code)
}
