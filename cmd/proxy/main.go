// Command proxy is aksoidc-proxy: it authenticates kubectl's OIDC tokens exactly as
// kube-apiserver would and forwards each request to the API server as that user.
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
