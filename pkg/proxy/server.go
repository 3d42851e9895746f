package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"k8s.io/apiserver/pkg/server/dynamiccertificates"
)

// ServerConfig is how the proxy serves.
type ServerConfig struct {
	Handler http.Handler
	// Secure is where the proxy serves TLS; Probe is where /healthz, /readyz and /metrics are
	// served over plain HTTP.
	Secure, Probe     net.Listener
	CertFile, KeyFile string
	// ShutdownGrace bounds how long running requests may take to finish once ctx ends.
	ShutdownGrace time.Duration
	// Checks returns the readiness checks, run every ReadyInterval; /readyz reports the last
	// round (see ReadinessChecks).
	Checks        func() []Check
	ReadyInterval time.Duration
	Metrics       *Metrics
	Logger        *slog.Logger
	// Profiling serves net/http/pprof at /debug/pprof/ on the probe port.
	Profiling bool
}

const (
	readHeaderTimeout = 10 * time.Second
	maxHeaderBytes    = 1 << 20
)

// Serve serves until ctx ends, then shuts down gracefully: readiness turns false, new
// connections are refused, and requests in flight get ShutdownGrace to finish.
func Serve(ctx context.Context, cfg ServerConfig) error {
	certs, err := newCertificates(cfg.CertFile, cfg.KeyFile, cfg.Logger)
	if err != nil {
		return err
	}
	go certs.content.Run(ctx, 1)
	ready := &readiness{}
	go ready.run(ctx, cfg.Checks, cfg.ReadyInterval, cfg.Logger)

	secure := &http.Server{
		Handler:           cfg.Handler,
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: certs.get, NextProtos: []string{"h2", "http/1.1"}},
		ReadHeaderTimeout: readHeaderTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug),
	}
	probe := &http.Server{
		Handler:           probeMux(ready, cfg.Metrics, cfg.Profiling),
		ReadHeaderTimeout: readHeaderTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
	}
	errs := make(chan error, 2)
	go func() { errs <- ignoreServerClosed(secure.ServeTLS(cfg.Secure, "", "")) }()
	go func() { errs <- ignoreServerClosed(probe.Serve(cfg.Probe)) }()
	cfg.Logger.Info("serving", "secure", cfg.Secure.Addr().String(), "probe", cfg.Probe.Addr().String())

	select {
	case err := <-errs:
		_ = secure.Close()
		_ = probe.Close()
		return err
	case <-ctx.Done():
	}
	ready.stopping.Store(true)
	return shutdown(secure, probe, cfg.ShutdownGrace, cfg.Logger)
}

// ignoreServerClosed turns the error Serve returns after Shutdown or Close, which is how
// every server here ends, into nil: only a failure to serve is an error.
func ignoreServerClosed(err error) error {
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

func shutdown(secure, probe *http.Server, grace time.Duration, log *slog.Logger) error {
	log.Info("shutting down", "grace", grace.String())
	graceCtx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err := secure.Shutdown(graceCtx)
	if err != nil {
		log.Warn("requests still running when the shutdown grace ended; closing them", "error", err)
		_ = secure.Close()
	}
	_ = probe.Close()
	log.Info("shut down")
	return nil
}

// certificates holds the serving certificate, re-read when its files change.
type certificates struct {
	content *dynamiccertificates.DynamicCertKeyPairContent
	current atomic.Pointer[tls.Certificate]
	log     *slog.Logger
}

func newCertificates(certFile, keyFile string, log *slog.Logger) (*certificates, error) {
	content, err := dynamiccertificates.NewDynamicServingContentFromFiles("serving-cert", certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert-file/--tls-private-key-file: %w", err)
	}
	c := &certificates{content: content, log: log}
	c.Enqueue()
	if c.current.Load() == nil {
		return nil, errors.New("--tls-cert-file/--tls-private-key-file: no usable certificate")
	}
	content.AddListener(c)
	return c, nil
}

// Enqueue is called by the file watcher after it has loaded a valid new pair.
func (c *certificates) Enqueue() {
	certPEM, keyPEM := c.content.CurrentCertKeyContent()
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		c.log.Error("serving certificate not reloaded", "error", err)
		return
	}
	if old := c.current.Swap(&cert); old != nil {
		c.log.Info("serving certificate reloaded")
	}
}

func (c *certificates) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return c.current.Load(), nil
}
