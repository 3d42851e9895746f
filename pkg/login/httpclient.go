package login

import (
	"crypto/tls"
	"errors"
	"net/http"
	"time"

	"github.com/aksoidc/aksoidc/internal/trustroots"
	"github.com/aksoidc/aksoidc/pkg/wellknown"
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
	return &http.Client{Transport: loggingTransport{next: tr, log: log}, Timeout: 30 * time.Second, CheckRedirect: safeRedirect}, nil
}

// safeRedirect follows only what cannot leak: a request with a body (token, revocation) carries
// codes, refresh tokens or the client secret, which Go sends again to a 307/308's Location, so
// it is never redirected; a GET (discovery, keys) is, to https or to plain http on loopback,
// as the issuer URL itself may be. The caller gets the redirect as the answer otherwise.
func safeRedirect(next *http.Request, via []*http.Request) error {
	first := via[0]
	switch {
	case len(via) >= 10:
		return errors.New("stopped after 10 redirects")
	case first.Method != http.MethodGet && first.Method != http.MethodHead:
		return http.ErrUseLastResponse
	case next.URL.Scheme == "https", next.URL.Scheme == "http" && wellknown.IsLoopbackHost(next.URL.Hostname()):
		return nil
	}
	return http.ErrUseLastResponse
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
