package trustroots

import (
	"crypto/x509"
	"encoding/pem"
	"testing"

	"github.com/aksoidc/aksoidc/test/testpki"
)

func TestPoolHoldsOnlyTheCAsGiven(t *testing.T) {
	t.Parallel()
	pinned, other := testpki.NewCA(t, "pinned"), testpki.NewCA(t, "other")
	pool, err := Pool(pinned.PEM)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		ca     *testpki.CA
		verify bool
	}{
		{"server of the pinned CA", pinned, true},
		{"server of another CA", other, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			block, _ := pem.Decode(tt.ca.Issue(t, "127.0.0.1").CertPEM)
			leaf, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			_, err = leaf.Verify(x509.VerifyOptions{Roots: pool})
			if got := err == nil; got != tt.verify {
				t.Errorf("verified: %v (%v), want %v", got, err, tt.verify)
			}
		})
	}
	if pool, err := Pool(nil); pool != nil || err != nil {
		t.Errorf("Pool(nil) = %v, %v; want nil (the system's roots), nil", pool, err)
	}
	if _, err := Pool([]byte("not PEM")); err == nil || err.Error() != "no PEM certificate in the CA data" {
		t.Errorf("Pool(not PEM) error = %v", err)
	}
}
