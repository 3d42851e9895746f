package proxy

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/rest"

	"github.com/aksoidc/aksoidc/pkg/proxy/authn"
)

// ReadinessAuthenticator is what the readiness checks ask the authenticator;
// *authn.Authenticator is the real one.
type ReadinessAuthenticator interface {
	Ready(context.Context) error
	IssuerChecks() []authn.IssuerCheck
}

// ReadinessChecks are the proxy's checks: ready means this process can serve, that is, the
// authenticator for the configuration in force is initialized and the API server answers. Each
// issuer's discovery and keys are fetched too, but only for /readyz?verbose, the log and the
// aksoidc_proxy_issuer_* metrics: an issuer's outage must not take every replica out of the
// Service, since tokens keep verifying with the keys already loaded.
func ReadinessChecks(a ReadinessAuthenticator, upstream func(context.Context) error, m *Metrics) func() []Check {
	return func() []Check {
		checks := []Check{{Name: "authenticator", Run: a.Ready}, {Name: "api-server", Run: upstream}}
		issuers := a.IssuerChecks()
		m.issuers.forget(issuers)
		for _, iss := range issuers {
			checks = append(checks, Check{Name: "issuer " + iss.URL, Informational: true, Run: func(ctx context.Context) error {
				err := iss.Check(ctx)
				m.issuers.observe(iss.URL, err)
				return err
			}})
		}
		return checks
	}
}

// issuerMetrics say, per issuer of the configuration in force, whether its discovery document
// and keys could be fetched at the last check, and when they last could.
type issuerMetrics struct {
	up, lastSuccess *prometheus.GaugeVec
	mu              sync.Mutex
	known           map[string]bool
}

func newIssuerMetrics() issuerMetrics {
	return issuerMetrics{
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "aksoidc_proxy_issuer_up",
			Help: "1 if the issuer's discovery document and keys could be fetched at the last readiness check, else 0.",
		}, []string{"issuer"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "aksoidc_proxy_issuer_last_success_timestamp_seconds",
			Help: "When the issuer's discovery document and keys were last fetched (Unix time); its age is how stale the keys may be.",
		}, []string{"issuer"}),
		known: map[string]bool{},
	}
}

func (im *issuerMetrics) observe(issuer string, err error) {
	if err != nil {
		im.up.WithLabelValues(issuer).Set(0)
		return
	}
	im.up.WithLabelValues(issuer).Set(1)
	im.lastSuccess.WithLabelValues(issuer).Set(float64(time.Now().Unix()))
}

// forget drops the series of issuers a reload removed.
func (im *issuerMetrics) forget(current []authn.IssuerCheck) {
	im.mu.Lock()
	defer im.mu.Unlock()
	now := map[string]bool{}
	for _, iss := range current {
		now[iss.URL] = true
	}
	for issuer := range im.known {
		if !now[issuer] {
			im.up.DeleteLabelValues(issuer)
			im.lastSuccess.DeleteLabelValues(issuer)
		}
	}
	im.known = now
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
