package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync/atomic"

	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/klog/v2"

	"github.com/aksoidc/aksoidc/internal/cli"
	"github.com/aksoidc/aksoidc/pkg/proxy"
	"github.com/aksoidc/aksoidc/pkg/proxy/authn"
)

// program names the proxy in what it reports.
const program = "aksoidc-proxy"

// run is the whole program: it returns 2 for a bad command line (a flag, or a file a flag
// names), reported as kubectl-aksoidc reports it (internal/cli), and 1 when the proxy could
// not run, as its last JSON log line.
func run(ctx context.Context, args []string, version string) int {
	// k8s.io libraries log through klog; keep one JSON stream. klog's logger is process-wide
	// and must be set before anything logs, so only the real program sets it, not tests that
	// run several proxies in one process.
	klog.SetSlogLogger(slog.New(slog.NewJSONHandler(os.Stderr, nil)))
	return runWith(ctx, args, version, os.Stdout, os.Stderr)
}

func runWith(ctx context.Context, args []string, version string, stdout, stderr io.Writer) int {
	if len(args) == 2 && args[1] == "version" {
		_, _ = fmt.Fprintln(stdout, "aksoidc-proxy "+version)
		return 0
	}
	fs := pflag.NewFlagSet(args[0], pflag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	o.addFlags(fs)
	if err := fs.Parse(args[1:]); errors.Is(err, pflag.ErrHelp) {
		return 0
	} else if err != nil {
		return cli.Report(stderr, program, cli.FlagError(err))
	}
	if o.showVersion {
		_, _ = fmt.Fprintln(stdout, "aksoidc-proxy "+version)
		return 0
	}
	if fs.NArg() > 0 {
		return cli.Report(stderr, program, cli.Usage(fmt.Errorf("unexpected argument %q (the only subcommand is version; see --help)", fs.Arg(0))))
	}
	if err := o.validate(); err != nil {
		return cli.Report(stderr, program, err)
	}
	c, err := o.complete()
	if err != nil {
		return cli.Report(stderr, program, err)
	}
	if os.Getenv("GOGC") == "" {
		// The proxy's heap is mostly short-lived: collect rarely while it is small (tuneGC).
		// GOGC still overrides.
		var stopped atomic.Bool
		defer stopped.Store(true)
		tuneGC(&stopped)
	}
	log := newLogger(stderr, o.logLevel)
	if err := serve(ctx, c, log); err != nil {
		log.Error("aksoidc-proxy stopped", "error", err.Error())
		return 1
	}
	return 0
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

// serve runs the proxy of c until ctx ends.
func serve(ctx context.Context, c *completed, log *slog.Logger) error {
	// The authenticators outlive ctx: requests still running after SIGTERM must authenticate.
	life, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	metrics := proxy.NewMetrics()
	opts := c.authn
	opts.Logger, opts.OnCache = log, metrics.TokenCache
	if c.tokenPassthrough {
		// NewTokenReview limits the reviews itself and fails fast; client-go's limiter would queue.
		cfg := rest.CopyConfig(c.upstream)
		cfg.RateLimiter = flowcontrol.NewFakeAlwaysRateLimiter()
		client, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			return fmt.Errorf("upstream client: %w", err)
		}
		limit := authn.TokenReviewLimit{QPS: c.upstreamQPS, Burst: c.upstreamBurst}
		opts.Passthrough = authn.NewTokenReview(client.AuthenticationV1().TokenReviews(), limit)
	}
	a, err := authn.New(life, opts)
	if err != nil {
		return err
	}
	go a.Run(life)
	discovery, err := proxy.NewDiscovery(c.discovery, a.Source, log)
	if err != nil {
		return fmt.Errorf("--discovery-*: %w", err)
	}
	onboarding, err := onboardingHandler(c, discovery, log)
	if err != nil {
		return err
	}
	impersonation, err := impersonationAuthorizer(c)
	if err != nil {
		return err
	}
	hc := c.handler
	hc.Authenticator, hc.Upstream, hc.Logger, hc.Metrics, hc.Stop = a, c.upstream, log, metrics, ctx.Done()
	hc.Discovery, hc.Onboarding, hc.Impersonation = discovery, onboarding, impersonation
	handler, err := proxy.NewHandler(hc)
	if err != nil {
		return err
	}
	upstreamReady, err := proxy.UpstreamReady(c.upstream)
	if err != nil {
		return err
	}
	sc := c.server
	sc.Handler, sc.Checks, sc.Metrics, sc.Logger = handler, proxy.ReadinessChecks(a, upstreamReady, metrics), metrics, log
	return listenAndServe(ctx, c, sc)
}

func listenAndServe(ctx context.Context, c *completed, cfg proxy.ServerConfig) error {
	var lc net.ListenConfig
	secure, err := lc.Listen(ctx, "tcp", c.secureAddr)
	if err != nil {
		return fmt.Errorf("--secure-port: %w", err)
	}
	defer func() { _ = secure.Close() }()
	probe, err := lc.Listen(ctx, "tcp", c.probeAddr)
	if err != nil {
		return fmt.Errorf("--probe-port: %w", err)
	}
	defer func() { _ = probe.Close() }()
	cfg.Secure, cfg.Probe = secure, probe
	return proxy.Serve(ctx, cfg)
}
