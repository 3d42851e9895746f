package proxy

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/component-base/metrics/legacyregistry"

	"github.com/aksoidc/aksoidc/pkg/proxy/authn"
)

// Metrics are the proxy's Prometheus metrics.
type Metrics struct {
	registry         *prometheus.Registry
	requests         *prometheus.CounterVec
	authnFailures    *prometheus.CounterVec
	authentications  *prometheus.CounterVec
	upstreamDuration *prometheus.HistogramVec
	tokenCache       *prometheus.CounterVec
	longRunning      prometheus.Gauge
	reviews          *prometheus.CounterVec
	issuers          issuerMetrics
}

// NewMetrics creates the metrics in a registry of their own.
func NewMetrics() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aksoidc_proxy_requests_total", Help: "Requests handled, by verb and HTTP status code.",
		}, []string{"verb", "code"}),
		authnFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aksoidc_proxy_authentication_failures_total", Help: "Requests refused authentication, by reason.",
		}, []string{"reason"}),
		authentications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aksoidc_proxy_authentications_total",
			Help: "Bearer tokens accepted or refused, by issuer (a configured issuer URL; \"tokenreview\" for passthrough; \"none\" when the token names no configured issuer), result and refusal reason.",
		}, []string{"issuer", "result", "reason"}),
		upstreamDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "aksoidc_proxy_upstream_duration_seconds",
			Help:    "Time until the API server's response headers arrived, by verb.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"verb"}),
		tokenCache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aksoidc_proxy_token_cache_requests_total", Help: "Accepted OIDC tokens, by whether the token cache answered (hit) or the token was verified (miss).",
		}, []string{"result"}),
		longRunning: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "aksoidc_proxy_long_running_requests_in_flight", Help: "Watches, logs -f, exec, attach and port-forward sessions open now.",
		}),
		reviews: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aksoidc_proxy_subject_access_reviews_total",
			Help: "SubjectAccessReviews made to decide client impersonation (kubectl --as), by result: allowed, denied, or error (no answer; the impersonation was refused).",
		}, []string{"result"}),
	}
	// Go and process metrics come with k8s.io's legacy registry, served alongside.
	m.issuers = newIssuerMetrics()
	m.registry.MustRegister(m.collectors()...)
	return m
}

func (m *Metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.requests, m.authnFailures, m.authentications, m.upstreamDuration, m.tokenCache, m.longRunning, m.reviews,
		m.issuers.up, m.issuers.lastSuccess}
}

// Names lists the proxy's own metric names, so that alert rules and dashboards that query
// them can be checked against what the proxy exports.
func (m *Metrics) Names() []string {
	ch := make(chan *prometheus.Desc, 16)
	go func() {
		for _, c := range m.collectors() {
			c.Describe(ch)
		}
		close(ch)
	}()
	var names []string
	for d := range ch {
		// A Desc prints as Desc{fqName: "name", ...}; the name is not otherwise exposed.
		_, rest, _ := strings.Cut(d.String(), `fqName: "`)
		name, _, _ := strings.Cut(rest, `"`)
		names = append(names, name)
	}
	return names
}

// TokenCache counts an accepted token; pass it as authn.Options.OnCache.
func (m *Metrics) TokenCache(hit bool) {
	result := "miss"
	if hit {
		result = "hit"
	}
	m.tokenCache.WithLabelValues(result).Inc()
}

// Handler serves the metrics, together with those k8s.io/apiserver's oidc authenticator registers.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(prometheus.Gatherers{m.registry, legacyregistry.DefaultGatherer}, promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError, // one bad collector must not hide the others
	})
}

// observeAuthentication counts one accepted (err nil) or refused token by issuer.
func (m *Metrics) observeAuthentication(id authn.Identity, err error) {
	if err != nil {
		reason, issuer := authn.ReasonOf(err), "none"
		if e, ok := errors.AsType[*authn.Error](err); ok && e.Issuer != "" {
			issuer = e.Issuer
		}
		m.authnFailures.WithLabelValues(string(reason)).Inc()
		m.authentications.WithLabelValues(issuer, "refused", string(reason)).Inc()
		return
	}
	issuer := id.Issuer
	switch {
	case id.Passthrough:
		issuer = "tokenreview"
	case issuer == "":
		issuer = "none"
	}
	m.authentications.WithLabelValues(issuer, "accepted", "").Inc()
}

func (m *Metrics) observeRequest(verb string, code int) {
	m.requests.WithLabelValues(verb, strconv.Itoa(code)).Inc()
}
