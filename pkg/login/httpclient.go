package login

import (
	"crypto/tls"
	"net/http"
	"time"

	"github.com/aksoidc/aksoidc/internal/trustroots"
)

// TLSConfig says how to trust the issuer.
type TLSConfig struct {
	CAData             []byte // PEM certificates trusted instead of the system's roots (trustroots.Pool)
	InsecureSkipVerify bool
}

// NewHTTPClient returns the client used for every request to the issuer. With
// a Logger at -v 6 it logs each request's method, URL without query, status
// and duration: never a header or a body, which carry codes and tokens.
func NewHTTPClient(tc TLSConfig, log Logger) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: tc.InsecureSkipVerify} //nolint:gosec // opt-in flag
	pool, err := trustroots.Pool(tc.CAData)
	if err != nil {
		return nil, err
	}
	tr.TLSClientConfig.RootCAs = pool
	return &http.Client{Transport: loggingTransport{next: tr, log: log}, Timeout: 30 * time.Second}, nil
}

type loggingTransport struct {
	next http.RoundTripper
	log  Logger
}

func (t loggingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !t.log.V(6) {
		return t.next.RoundTrip(req)
	}
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	where := req.URL.Scheme + "://" + req.URL.Host + req.URL.Path
	if err != nil {
		t.log.Printf(6, "%s %s: %v (%s)", req.Method, where, err, time.Since(start).Round(time.Millisecond))
		return nil, err
	}
	t.log.Printf(6, "%s %s: %s (%s)", req.Method, where, resp.Status, time.Since(start).Round(time.Millisecond))
	return resp, nil
}
