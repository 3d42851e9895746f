package dextest

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/aksoidc/aksoidc/test/testpki"
)

// servingFiles are Dex's TLS files and the CA that signed its certificate.
type servingFiles struct {
	caPEM, caFile, certFile, keyFile string
}

// writePKI writes a throw-away CA and a serving certificate for 127.0.0.1 into dir.
func writePKI(t testing.TB, dir string) servingFiles {
	t.Helper()
	ca := testpki.NewCA(t, "dextest CA")
	pair := ca.Issue(t, "127.0.0.1")
	f := servingFiles{
		caPEM:    string(ca.PEM),
		caFile:   filepath.Join(dir, "ca.crt"),
		certFile: filepath.Join(dir, "tls.crt"),
		keyFile:  filepath.Join(dir, "tls.key"),
	}
	for path, data := range map[string][]byte{f.caFile: ca.PEM, f.certFile: pair.CertPEM, f.keyFile: pair.KeyPEM} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatalf("dex serving certificate: %v", err)
		}
	}
	return f
}

// trustingTransport is an HTTP transport that trusts only caPEM.
func trustingTransport(t testing.TB, caPEM string) http.RoundTripper {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = testpki.ClientConfig(t, []byte(caPEM))
	return tr
}
