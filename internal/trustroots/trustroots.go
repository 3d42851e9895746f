// Package trustroots is the one rule for what a CA flag of the plugin means: get-token's
// --certificate-authority(-data) and setup's --server-certificate-authority both replace the
// system's roots with the CAs given, as kubectl's --certificate-authority does. A user names a
// CA to pin a private one: adding it to the system's roots would still let any public CA
// vouch for the issuer's or the proxy's host name.
package trustroots

import (
	"crypto/x509"
	"errors"
)

// Pool returns the roots that verify a server: nil (the system's roots) when caPEM is empty,
// else a pool of the certificates in caPEM and nothing else.
func Pool(caPEM []byte) (*x509.CertPool, error) {
	if len(caPEM) == 0 {
		return nil, nil
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("no PEM certificate in the CA data")
	}
	return pool, nil
}
