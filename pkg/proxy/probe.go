package proxy

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Check is one readiness check. An informational check is reported by /readyz?verbose and in
// the log, but does not make the proxy unready: it tells about a shared dependency, which is
// what metrics and alerts are for.
type Check struct {
	Name          string
	Informational bool
	Run           func(context.Context) error
}

type checkResult struct {
	name          string
	informational bool
	err           error
}

// readiness keeps the results of the last round of checks; it is never latched either way.
type readiness struct {
	results  atomic.Pointer[[]checkResult]
	stopping atomic.Bool
}

// run checks every interval until ctx ends. checks is asked for the checks each round, as a
// configuration reload changes the issuers.
func (r *readiness) run(ctx context.Context, checks func() []Check, interval time.Duration, log *slog.Logger) {
	if interval <= 0 {
		interval = 10 * time.Second
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	last := map[string]string{}
	for {
		results := runChecks(ctx, checks(), interval)
		r.results.Store(&results)
		logChanges(log, last, results)
		select {
		case <-ctx.Done():
			return // Serve has marked the proxy as stopping
		case <-ticker.C:
		}
	}
}

func runChecks(ctx context.Context, checks []Check, timeout time.Duration) []checkResult {
	results := make([]checkResult, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Go(func() {
			checkCtx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			results[i] = checkResult{name: c.Name, informational: c.Informational, err: c.Run(checkCtx)}
		})
	}
	wg.Wait()
	return results
}

// logChanges logs a check's result when it differs from the last round's.
func logChanges(log *slog.Logger, last map[string]string, results []checkResult) {
	for _, res := range results {
		now := "ok"
		if res.err != nil {
			now = res.err.Error()
		}
		if before, seen := last[res.name]; seen && before == now {
			continue
		}
		last[res.name] = now
		switch {
		case res.err == nil:
			log.Info("check passed", "check", res.name)
		case res.informational:
			log.Warn("check failed (informational, still ready)", "check", res.name, "error", res.err)
		default:
			log.Warn("not ready", "check", res.name, "error", res.err)
		}
	}
}

func (r *readiness) check() error {
	if r.stopping.Load() {
		return fmt.Errorf("shutting down")
	}
	results := r.results.Load()
	if results == nil {
		return fmt.Errorf("not checked yet")
	}
	for _, res := range *results {
		if res.err != nil && !res.informational {
			return fmt.Errorf("%s: %w", res.name, res.err)
		}
	}
	return nil
}

// verbose is /readyz?verbose: a line per check, as kube-apiserver's, then the verdict.
func (r *readiness) verbose(err error) string {
	var b strings.Builder
	if results := r.results.Load(); results != nil {
		for _, res := range *results {
			mark, note := "+", " ok"
			if res.err != nil {
				mark, note = "-", " failed: "+res.err.Error()
			}
			if res.informational {
				note += " (informational)"
			}
			fmt.Fprintf(&b, "[%s]%s%s\n", mark, res.name, note)
		}
	}
	if r.stopping.Load() {
		b.WriteString("[-]shutdown failed: shutting down\n")
	}
	if err != nil {
		b.WriteString("readyz check failed\n")
	} else {
		b.WriteString("readyz check passed\n")
	}
	return b.String()
}

func probeMux(ready *readiness, m *Metrics, profiling bool) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		err := ready.check()
		_, verbose := r.URL.Query()["verbose"]
		switch {
		case verbose && err != nil:
			http.Error(w, ready.verbose(err), http.StatusServiceUnavailable)
		case verbose:
			_, _ = w.Write([]byte(ready.verbose(nil)))
		case err != nil:
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
		default:
			_, _ = w.Write([]byte("ok\n"))
		}
	})
	mux.Handle("GET /metrics", m.Handler())
	if profiling {
		addProfiling(mux)
	}
	return mux
}

// addProfiling serves Go's profiles as kube-apiserver's --profiling does, on the plain-HTTP
// probe port only: the port a cluster's users cannot reach, where a heap or goroutine profile of
// many watches can be taken without a token.
func addProfiling(mux *http.ServeMux) {
	mux.HandleFunc("/debug/pprof/", pprof.Index) // also heap, goroutine, allocs, block, mutex...
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
}
