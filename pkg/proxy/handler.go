package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"time"

	"k8s.io/client-go/rest"

	"github.com/aksoidc/aksoidc/pkg/wellknown"
)

// Config is what the proxy handler needs.
type Config struct {
	Authenticator Authenticator
	// Upstream is how to reach the API server as the proxy itself (its credentials must allow
	// impersonating users, groups, uids and userextras).
	Upstream *rest.Config
	// RequestTimeout bounds requests that are not long-running (watch, logs, exec, attach,
	// port-forward, proxy and any upgrade have no timeout).
	RequestTimeout time.Duration
	// TrustedProxies are the peers whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	Logger         *slog.Logger
	Metrics        *Metrics
	// Discovery, when set, is served without authentication at wellknown.Path: the public
	// document from which `kubectl aksoidc setup` learns how to log in.
	Discovery http.Handler
	// Onboarding, when set, answers a browser's credential-less visit of / and /kubeconfig
	// (isOnboardingRequest); every other request is handled as without it.
	Onboarding http.Handler
	// Impersonation, when set, lets a client impersonate whom RBAC allows the authenticated user
	// to (kubectl --as); when nil, any Impersonate* header is refused with 403.
	Impersonation *ImpersonationAuthorizer
	// Stop, once closed, ends long-running responses (watches, logs -f) cleanly, so that clients
	// see the end of the stream and reconnect, rather than a cut connection.
	Stop <-chan struct{}
}

// NewHandler returns the proxy's HTTP handler.
func NewHandler(cfg Config) (http.Handler, error) {
	if cfg.Authenticator == nil || cfg.Upstream == nil || cfg.Metrics == nil || cfg.Logger == nil {
		return nil, errors.New("proxy: Authenticator, Upstream, Metrics and Logger are required")
	}
	target, err := url.Parse(cfg.Upstream.Host)
	if err != nil || target.Host == "" {
		return nil, fmt.Errorf("upstream host %q is not a URL", cfg.Upstream.Host)
	}
	rt, err := newUpstream(cfg.Upstream, cfg.Metrics)
	if err != nil {
		return nil, err
	}
	h := newForwarder(target, rt, cfg.Logger, cfg.Stop)
	for _, mw := range middleware(cfg) {
		h = mw(h)
	}
	return h, nil
}

// middleware is the chain, innermost first. Client impersonation is decided after
// authentication, since it is about who asks; refused outright, it is refused before.
func middleware(cfg Config) []func(http.Handler) http.Handler {
	impersonation, refusal := withImpersonation(cfg.Impersonation, cfg.Logger, cfg.Metrics), pass
	if cfg.Impersonation == nil {
		impersonation, refusal = pass, withRefuseImpersonation(cfg.Logger)
	}
	return []func(http.Handler) http.Handler{
		timeoutOrCountLongRunning(cfg.RequestTimeout, cfg.Metrics),
		impersonation,
		withAuthentication(cfg.Authenticator, cfg.Logger, cfg.Metrics),
		refusal,
		withDiscovery(cfg.Discovery),
		withOnboarding(cfg.Onboarding),
		withAccessLog(cfg.Logger, cfg.Metrics, cfg.TrustedProxies),
		withRecover(cfg.Logger),
	}
}

func pass(next http.Handler) http.Handler { return next }

// withDiscovery answers wellknown.Path itself; it holds only public information, and a client
// reads it before it has a token.
func withDiscovery(discovery http.Handler) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if discovery == nil {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == wellknown.Path {
				discovery.ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// timeoutOrCountLongRunning bounds an ordinary request by timeout and counts a long-running
// one (watch, exec, logs) in the long-running gauge while it lasts: a long-running request has
// no timeout.
func timeoutOrCountLongRunning(timeout time.Duration, m *Metrics) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if stateFrom(r.Context()).longRunning {
				m.longRunning.Inc()
				defer m.longRunning.Dec()
				next.ServeHTTP(w, r)
				return
			}
			if timeout > 0 {
				ctx, cancel := context.WithTimeout(r.Context(), timeout)
				defer cancel()
				r = r.WithContext(ctx)
			}
			next.ServeHTTP(w, r)
		})
	}
}
