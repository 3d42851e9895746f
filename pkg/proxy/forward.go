package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/streaming/pkg/httpstream"
)

// upstream picks, per request, the transport to the API server: the proxy's own credentials
// (impersonating) or none at all (passthrough, where the client's token must be the only
// credential, or a client certificate would win), and HTTP/1.1 for upgrades, which HTTP/2
// cannot carry.
type upstream struct {
	impersonating, impersonatingHTTP1 http.RoundTripper
	anonymous, anonymousHTTP1         http.RoundTripper
	metrics                           *Metrics
}

func newUpstream(cfg *rest.Config, m *Metrics) (*upstream, error) {
	u := &upstream{metrics: m}
	anonymous := rest.AnonymousClientConfig(cfg)
	for _, t := range []struct {
		cfg   *rest.Config
		http1 bool
		out   *http.RoundTripper
	}{
		{cfg, false, &u.impersonating}, {cfg, true, &u.impersonatingHTTP1},
		{anonymous, false, &u.anonymous}, {anonymous, true, &u.anonymousHTTP1},
	} {
		c := rest.CopyConfig(t.cfg)
		c.Impersonate = rest.ImpersonationConfig{}
		if t.http1 {
			c.NextProtos = []string{"http/1.1"}
		}
		rt, err := rest.TransportFor(c)
		if err != nil {
			return nil, fmt.Errorf("upstream transport: %w", err)
		}
		*t.out = rt
	}
	return u, nil
}

func (u *upstream) RoundTrip(req *http.Request) (*http.Response, error) {
	auth, _ := req.Context().Value(identityKey{}).(*authenticated)
	if auth == nil {
		return nil, errors.New("refusing to forward an unauthenticated request")
	}
	upgrade := httpstream.IsUpgradeRequest(req)
	rt := u.impersonating
	switch {
	case auth.identity.Passthrough && upgrade:
		rt = u.anonymousHTTP1
	case auth.identity.Passthrough:
		rt = u.anonymous
	case upgrade:
		rt = u.impersonatingHTTP1
	}
	start := time.Now()
	resp, err := rt.RoundTrip(req)
	u.metrics.upstreamDuration.WithLabelValues(stateFrom(req.Context()).verb).Observe(time.Since(start).Seconds())
	return resp, err
}

// newForwarder returns the reverse proxy to the API server at target.
func newForwarder(target *url.URL, rt http.RoundTripper, log *slog.Logger, stop <-chan struct{}) http.Handler {
	streams := newStopper(stop)
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = ""
			stripCredentials(pr.Out.Header)
			pr.Out.Header.Set(auditIDHeader, stateFrom(pr.In.Context()).auditID)
			auth, _ := pr.In.Context().Value(identityKey{}).(*authenticated)
			if auth == nil {
				return // upstream.RoundTrip refuses it
			}
			if auth.identity.Passthrough {
				pr.Out.Header.Set("Authorization", "Bearer "+auth.token)
				for name, values := range auth.clientImpersonation {
					pr.Out.Header[name] = values
				}
				return
			}
			clientIP := stateFrom(pr.In.Context()).clientIP
			if auth.target != nil {
				setImpersonation(pr.Out.Header, auth.target, auth.identity.User, clientIP)
				return
			}
			setImpersonation(pr.Out.Header, auth.identity.User, nil, clientIP)
		},
		ModifyResponse: func(resp *http.Response) error {
			resp.Header.Del(auditIDHeader) // the same ID, already set by withAccessLog
			if stateFrom(resp.Request.Context()).longRunning && resp.StatusCode != http.StatusSwitchingProtocols {
				resp.Body = streams.wrap(resp.Body)
			}
			return nil
		},
		Transport:     rt,
		BufferPool:    newBufferPool(),
		FlushInterval: -1, // watches and logs -f: every chunk reaches the client at once
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			state := stateFrom(r.Context())
			switch {
			case errors.Is(err, context.DeadlineExceeded):
				log.Warn("request timed out", "path", state.path, "user", state.user)
				writeStatus(w, http.StatusGatewayTimeout, "Timeout", "the request timed out")
			case errors.Is(err, context.Canceled):
				log.Debug("client went away", "path", state.path, "user", state.user)
				w.WriteHeader(499) // the client is gone; nobody reads this
			default:
				log.Error("upstream request failed", "path", state.path, "user", state.user, "error", err)
				writeStatus(w, http.StatusBadGateway, "ServiceUnavailable", "the API server could not be reached")
			}
		},
	}
	// A long-running response keeps its copy buffer while it is open, idle or not: a small one.
	long := *rp
	long.BufferPool = newStreamBufferPool()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if stateFrom(r.Context()).longRunning {
			long.ServeHTTP(w, r)
			return
		}
		rp.ServeHTTP(unflushed{w}, r)
	})
}

// unflushed hides http.Flusher from the reverse proxy for requests that are not long-running.
// The API server sends lists without a Content-Length, and for such a response the reverse
// proxy flushes the headers and then every chunk it reads, each a TLS record and a write(2) of
// its own; buffered, a small response leaves in one write and a large one in full buffers.
type unflushed struct{ http.ResponseWriter }
