package soak

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestSoak runs a mixed load through one proxy for SOAK_DURATION (12s; 10m under SOAK=1):
// lists, gets and updates, watches opened and closed, client connections opened and closed,
// streaming sessions opened and closed as kubectl's (logs -f, exec over WebSocket, port-forward
// over the WebSocket tunnel, each with kubectl's SPDY fallback) through the real kube-apiserver
// to a loopback kubelet, users whose tokens expire and are replaced by new ones (a token lasts
// a quarter of the run, between 10s and a minute). No request or session may fail. It samples the
// proxy's RSS, goroutines and open descriptors; after the warm-up (the first fifth) they must
// stay flat, growth within 10 % (asserted under SOAK=1; the short run only prints it).
func TestSoak(t *testing.T) {
	d := duration(t, "SOAK_DURATION", 12*time.Second, 10*time.Minute)
	e := newEnv(t)
	p := startProxy(t, e.cluster.ProxyKubeconfig, e.iss)
	for i := range 5 {
		body := fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"load-%d"},"data":{"k":"v"}}`, i)
		code, out, err := do(t.Context(), &http.Client{Transport: p.transport(t)}, http.MethodPost,
			p.URL+"/api/v1/namespaces/"+namespace+"/configmaps", e.token(t, "alice", time.Hour), strings.NewReader(body))
		if err != nil || code != http.StatusCreated {
			t.Fatalf("create load-%d: %d %s %v", i, code, out, err)
		}
	}
	l := &load{t: t, p: p, e: e, ttl: max(min(d/4, time.Minute), 10*time.Second), start: time.Now()}
	ctx, cancel := context.WithTimeout(t.Context(), d)
	defer cancel()
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Go(func() { l.requests(ctx, w) })
	}
	for w := range 3 {
		wg.Go(func() { l.watches(ctx, w) })
	}
	for kind := range sessionKinds {
		wg.Go(func() { l.sessions(ctx, kind, 0) })
	}
	samples := l.sample(ctx, d/20)
	wg.Wait()
	l.check(samples)
}

// load is the mixed load's clients and what they saw.
type load struct {
	t        *testing.T
	p        *proxyProc
	e        *env
	ttl      time.Duration // of the users' tokens
	ok       atomic.Int64  // requests, watches and sessions
	failures atomic.Int64
	// sessionsOK counts the streaming sessions that succeeded, by kind.
	sessionsOK [sessionKinds]atomic.Int64
	fallbacks  atomic.Int64 // sessions retried over SPDY after a failed WebSocket upgrade
	mu         sync.Mutex
	first      []string // the first few failures
	// firstFallbacks are the first few errors that made a session fall back to SPDY.
	firstFallbacks []string
	start          time.Time
}

// over says whether the run's time is up. A call the run's deadline cuts short can fail with an
// I/O timeout (a dial or read deadline taken from ctx) a moment before ctx says it is done, as its
// timer fires later; under load a worker meanwhile starts calls that fail at once, and those are
// not failures of the proxy.
func over(ctx context.Context) bool {
	deadline, ok := ctx.Deadline()
	return ctx.Err() != nil || ok && !time.Now().Before(deadline)
}

// fail records a failure with the time into the run it was seen at, to set against the
// proxy's log.
func (l *load) fail(format string, args ...any) {
	l.failures.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.first) < 5 {
		l.first = append(l.first, fmt.Sprintf("at %s: ", time.Since(l.start).Round(time.Second))+fmt.Sprintf(format, args...))
	}
}

// user is one person whose token lasts ttl (exp has whole seconds: up to a second less); it is
// replaced by a new one at half its life, leaving a request sent just before time to arrive.
type user struct {
	name    string
	token   string
	renewAt time.Time
}

func (l *load) tokenOf(u *user) string {
	if time.Now().After(u.renewAt) {
		u.token = l.e.token(l.t, u.name, l.ttl)
		u.renewAt = time.Now().Add(l.ttl / 2)
	}
	return u.token
}

// requests lists, gets and updates ConfigMaps as a user of its own, on a client connection it
// replaces every 50 requests.
func (l *load) requests(ctx context.Context, worker int) {
	u := &user{name: fmt.Sprintf("user-%d", worker)}
	base := l.p.URL + "/api/v1/namespaces/" + namespace + "/configmaps"
	var c *http.Client
	for i := 0; !over(ctx); i++ {
		if i%50 == 0 {
			if c != nil {
				c.CloseIdleConnections()
			}
			c = &http.Client{Transport: l.p.transport(l.t)}
		}
		name := fmt.Sprintf("load-%d", (i/4+worker)%5)
		method, url, body, want := http.MethodGet, base, "", http.StatusOK
		switch i % 4 {
		case 1:
			url = base + "/" + name
		case 2:
			method, url, body = http.MethodPatch, base+"/"+name, fmt.Sprintf(`{"data":{"k":"%d-%d"}}`, worker, i)
		}
		var reader io.Reader
		if body != "" {
			reader = strings.NewReader(body)
		}
		code, out, err := doPatch(ctx, c, method, url, l.tokenOf(u), reader)
		switch {
		case over(ctx):
		case err != nil || code != want:
			l.fail("%s %s: %d %.200s %v", method, url, code, out, err)
		default:
			l.ok.Add(1)
		}
	}
	c.CloseIdleConnections()
}

// watches opens watches of the namespace's ConfigMaps and closes each after a few events or a
// moment, on a client connection it replaces every 10 watches.
func (l *load) watches(ctx context.Context, worker int) {
	u := &user{name: fmt.Sprintf("watcher-%d", worker)}
	url := l.p.URL + "/api/v1/namespaces/" + namespace + "/configmaps?watch=true"
	var c *http.Client
	for i := 0; !over(ctx); i++ {
		if i%10 == 0 {
			if c != nil {
				c.CloseIdleConnections()
			}
			c = &http.Client{Transport: l.p.transport(l.t)}
		}
		wctx, cancel := context.WithTimeout(ctx, time.Duration(200+(i*137)%800)*time.Millisecond)
		resp, err := watch(wctx, c, url, l.tokenOf(u))
		if err != nil {
			if !over(ctx) && wctx.Err() == nil {
				l.fail("watch: %v", err)
			}
			cancel()
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body) // until the watch's moment is over
		_ = resp.Body.Close()
		cancel()
		l.ok.Add(1)
	}
	c.CloseIdleConnections()
}

// doPatch is do with the merge-patch content type for PATCH.
func doPatch(ctx context.Context, c *http.Client, method, url, token string, body io.Reader) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if method == http.MethodPatch {
		req.Header.Set("Content-Type", "application/merge-patch+json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

// sample records the proxy's usage every interval until ctx ends.
func (l *load) sample(ctx context.Context, interval time.Duration) []usage {
	var samples []usage
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return samples
		case <-tick.C:
			samples = append(samples, l.p.usage(l.t))
		}
	}
}

// check reports the run and fails it for any failed request and, under SOAK=1, for growth
// after the warm-up.
func (l *load) check(samples []usage) {
	t := l.t
	if len(samples) < 10 {
		t.Fatalf("only %d samples", len(samples))
	}
	warm := samples[len(samples)/5:]
	k := max(len(warm)/4, 1)
	early, late := mean(warm[:k]), mean(warm[len(warm)-k:])
	growth := func(a, b float64) float64 { return (b - a) / a * 100 }
	g := map[string]float64{
		"rss": growth(early.rss, late.rss), "goroutines": growth(early.goroutines, late.goroutines), "fds": growth(early.fds, late.fds),
	}
	var sessions []string
	for kind, name := range sessionNames {
		sessions = append(sessions, fmt.Sprintf("%s=%d", name, l.sessionsOK[kind].Load()))
	}
	report(t, "soak", "requests-ok", l.ok.Load(), "failed", l.failures.Load(), "sessions-ok", strings.Join(sessions, ","), "spdy-fallbacks", l.fallbacks.Load(),
		"rss-MiB", fmt.Sprintf("%.1f->%.1f", early.rss/1024, late.rss/1024), "goroutines", fmt.Sprintf("%.0f->%.0f", early.goroutines, late.goroutines),
		"fds", fmt.Sprintf("%.0f->%.0f", early.fds, late.fds), "peak-rss-MiB", fmt.Sprintf("%.1f", float64(samples[len(samples)-1].PeakRSSKiB)/1024),
		"growth-%", fmt.Sprintf("rss=%.1f,goroutines=%.1f,fds=%.1f", g["rss"], g["goroutines"], g["fds"]))
	if n := l.failures.Load(); n > 0 {
		t.Errorf("%d requests failed, e.g.:\n%s\nthe proxy's warnings and errors:\n%s", n, strings.Join(l.first, "\n"), l.p.complaints(20))
	}
	if l.ok.Load() == 0 {
		t.Error("no request succeeded")
	}
	for kind, name := range sessionNames {
		if l.sessionsOK[kind].Load() == 0 {
			t.Errorf("no %s session succeeded", name)
		}
	}
	if n := l.fallbacks.Load(); n > 0 {
		t.Errorf("%d sessions fell back to SPDY after a failed WebSocket upgrade, e.g.:\n%s", n, strings.Join(l.firstFallbacks, "\n"))
	}
	if !long() {
		return
	}
	for name, v := range g {
		if v > 10 {
			t.Errorf("%s grew %.1f %% after the warm-up, want at most 10 %%", name, v)
		}
	}
}

type means struct{ rss, goroutines, fds float64 }

func mean(us []usage) means {
	var m means
	for _, u := range us {
		m.rss += float64(u.RSSKiB)
		m.goroutines += float64(u.Goroutines)
		m.fds += float64(u.FDs)
	}
	n := float64(len(us))
	return means{m.rss / n, m.goroutines / n, m.fds / n}
}
