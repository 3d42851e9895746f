package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/aksoidc/aksoidc/test/testpki"
)

// testCA keeps the proxy's serving certificate and key in files, as a mounted Secret does.
type testCA struct {
	*testpki.CA
	Cert string // serving certificate file
	Key  string // serving key file
}

func newTestCA(t testing.TB) *testCA {
	t.Helper()
	dir := t.TempDir()
	return &testCA{CA: testpki.NewCA(t, "proxy test CA"), Cert: filepath.Join(dir, "tls.crt"), Key: filepath.Join(dir, "tls.key")}
}

// issue writes a new serving certificate and key to Cert and Key and returns its serial.
func (ca *testCA) issue(t testing.TB) int64 {
	t.Helper()
	pair := ca.Issue(t, "aksoidc-proxy")
	// Write both to temporary names, then rename, as a Secret volume update does.
	for _, f := range []struct {
		path string
		pem  []byte
	}{{ca.Key, pair.KeyPEM}, {ca.Cert, pair.CertPEM}} {
		if err := os.WriteFile(f.path+".tmp", f.pem, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(f.path+".tmp", f.path); err != nil {
			t.Fatal(err)
		}
	}
	return pair.Serial
}
