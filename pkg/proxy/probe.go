package proxy

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"k8s.io/client-go/rest"
)

type errHolder struct{ err error }

// readiness keeps the last answer of a periodic check; it is never latched either way.
type readiness struct {
	err      atomic.Pointer[errHolder]
	stopping atomic.Bool
}

func (r *readiness) run(ctx context.Context, check func(context.Context) error, interval time.Duration, log *slog.Logger) {
	if interval <= 0 {
		interval = 10 * time.Second
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	var last error
	for {
		checkCtx, cancel := context.WithTimeout(ctx, interval)
		err := check(checkCtx)
		cancel()
		r.err.Store(&errHolder{err})
		if (err == nil) != (last == nil) || (err != nil && last != nil && err.Error() != last.Error()) {
			if err != nil {
				log.Warn("not ready", "error", err)
			} else {
				log.Info("ready")
			}
		}
		last = err
		select {
		case <-ctx.Done():
			return // Serve has marked the proxy as stopping
		case <-ticker.C:
		}
	}
}

func (r *readiness) check() error {
	if r.stopping.Load() {
		return fmt.Errorf("shutting down")
	}
	return r.err.Load().err
}

func probeMux(ready *readiness, m *Metrics) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if err := ready.check(); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.Handle("GET /metrics", m.Handler())
	return mux
}

// UpstreamReady returns a check that the API server answers /readyz to the proxy's credentials.
func UpstreamReady(cfg *rest.Config) (func(context.Context) error, error) {
	client, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("upstream client: %w", err)
	}
	url := cfg.Host + "/readyz"
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("API server: %w", err)
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("API server /readyz: %s", resp.Status)
		}
		return nil
	}, nil
}
