package setup

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aksoidc/aksoidc/internal/trustroots"
	"github.com/aksoidc/aksoidc/pkg/wellknown"
)

// TrustFunc decides whether to trust a certificate no known CA verifies.
type TrustFunc func(Fingerprints) (bool, error)

// Fingerprints name, as SHA-256 fingerprints, what the user is asked to trust.
type Fingerprints struct {
	// Certificate is the server's own certificate's; it changes when the certificate is renewed.
	Certificate string
	// CA is the fingerprint of the CA the discovery document publishes (and the proxy's
	// onboarding page shows), when that CA verifies the certificate for the server's host name;
	// otherwise empty.
	CA string
}

// Match says whether fp (any case) is one of them.
func (f Fingerprints) Match(fp string) bool {
	return strings.EqualFold(fp, f.Certificate) || f.CA != "" && strings.EqualFold(fp, f.CA)
}

// Discovery is what Discover learned about a proxy.
type Discovery struct {
	wellknown.Document
	// CAData verifies the proxy's certificate from now on: the CA the user
	// passed, the document's bundle, or the chain the user trusted.
	CAData []byte
}

// Discover fetches server's discovery document. caPEM, when set, replaces the
// system's roots (trustroots.Pool); otherwise the system's roots are tried
// first, then trust.
func Discover(ctx context.Context, server string, caPEM []byte, trust TrustFunc) (Discovery, error) {
	pool, err := trustroots.Pool(caPEM)
	if err != nil {
		return Discovery{}, fmt.Errorf("--server-certificate-authority: %w", err)
	}
	doc, _, err := fetch(ctx, server, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})
	var unknown x509.UnknownAuthorityError
	switch {
	case err == nil && len(caPEM) > 0:
		return Discovery{Document: doc, CAData: caPEM}, nil
	case err == nil:
		return Discovery{Document: doc, CAData: doc.CertificateAuthorityData}, nil
	case len(caPEM) > 0 || !errors.As(err, &unknown):
		return Discovery{}, err
	}
	return trustOnFirstUse(ctx, server, trust)
}

// trustOnFirstUse shows the fingerprint of the certificate the server
// presents (and of the document's CA that signs it) and goes on only if the
// user accepts it; what is then trusted is only what was shown.
func trustOnFirstUse(ctx context.Context, server string, trust TrustFunc) (Discovery, error) {
	doc, chain, err := fetch(ctx, server, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}) //nolint:gosec // the user verifies the fingerprint
	if err != nil {
		return Discovery{}, err
	}
	shown, caData, err := whatToTrust(server, chain, doc.CertificateAuthorityData)
	if err != nil {
		return Discovery{}, err
	}
	ok, err := trust(shown)
	if err != nil {
		return Discovery{}, err
	}
	if !ok {
		return Discovery{}, fmt.Errorf("the certificate of %s was not trusted", server)
	}
	return Discovery{Document: doc, CAData: caData}, nil
}

// whatToTrust returns the fingerprints to show and the CA data the kubeconfig gets if the user
// accepts them: without a bundle in the document, the presented chain; with one, the single CA
// of the bundle that verifies the certificate for server's host (named unless it is the
// certificate itself, self-signed), never the bundle's other certificates, which nobody was
// shown. A bundle that does not verify the certificate is refused before anyone is asked.
func whatToTrust(server string, chain []*x509.Certificate, bundle []byte) (Fingerprints, []byte, error) {
	f := Fingerprints{Certificate: Fingerprint(chain[0].Raw)}
	if len(bundle) == 0 {
		return f, chainPEM(chain), nil
	}
	u, err := url.Parse(server)
	if err != nil {
		return f, nil, fmt.Errorf("--server %q: %w", server, err)
	}
	chains, err := verify(chain, bundle, u.Hostname())
	if err != nil {
		return f, nil, fmt.Errorf("the discovery document's certificateAuthorityData does not verify the server's certificate: %w", err)
	}
	root := chains[0][len(chains[0])-1]
	if !root.Equal(chain[0]) {
		f.CA = Fingerprint(root.Raw)
	}
	return f, chainPEM([]*x509.Certificate{root}), nil
}

// Fingerprint is the SHA-256 fingerprint of a DER certificate, as `SHA256:AB:CD:...`.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	hex := make([]string, len(sum))
	for i, b := range sum {
		hex[i] = fmt.Sprintf("%02X", b)
	}
	return "SHA256:" + strings.Join(hex, ":")
}

func chainPEM(chain []*x509.Certificate) []byte {
	var b []byte
	for _, c := range chain {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return b
}

// verify checks chain[0] against the bundle caPEM, with the rest of chain as intermediates, for
// host.
func verify(chain []*x509.Certificate, caPEM []byte, host string) ([][]*x509.Certificate, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("the discovery document's certificateAuthorityData holds no PEM certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	return chain[0].Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, DNSName: host})
}

// fetch GETs the document and returns it with the chain the server presented.
func fetch(ctx context.Context, server string, tc *tls.Config) (wellknown.Document, []*x509.Certificate, error) {
	tr := &http.Transport{TLSClientConfig: tc, Proxy: http.ProxyFromEnvironment}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	target := strings.TrimSuffix(server, "/") + wellknown.Path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return wellknown.Document{}, nil, fmt.Errorf("--server %q: %w", server, err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return wellknown.Document{}, nil, fmt.Errorf("discover %s: %w", target, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return wellknown.Document{}, nil, fmt.Errorf("discover %s: HTTP %d %s (is --server an aksoidc proxy?)", target, resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	var doc wellknown.Document
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&doc); err != nil {
		return wellknown.Document{}, nil, fmt.Errorf("discover %s: not a discovery document: %w", target, err)
	}
	if err := doc.Validate(); err != nil {
		return wellknown.Document{}, nil, fmt.Errorf("discover %s: %w", target, err)
	}
	if resp.TLS == nil || len(resp.TLS.PeerCertificates) == 0 {
		return wellknown.Document{}, nil, fmt.Errorf("discover %s: --server must be an https URL", target)
	}
	return doc, resp.TLS.PeerCertificates, nil
}
