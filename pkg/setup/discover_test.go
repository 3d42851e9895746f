package setup

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aksoidc/aksoidc/pkg/wellknown"
	"github.com/aksoidc/aksoidc/test/testpki"
)

// TestTrustOnFirstUseNamesThePublishedCA: the user is shown the fingerprint of the CA the
// discovery document publishes (the one the onboarding page shows) when that CA signs the
// presented certificate, and only that CA is trusted afterwards, never the rest of the bundle;
// a bundle that does not sign the certificate is refused before anyone is asked.
func TestTrustOnFirstUseNamesThePublishedCA(t *testing.T) {
	t.Parallel()
	ca, other := testpki.NewCA(t, "proxy CA"), testpki.NewCA(t, "someone else's CA")
	leaf := ca.Issue(t, "aksoidc-proxy") // for 127.0.0.1 and ::1
	self := httptest.NewTLSServer(http.NotFoundHandler())
	t.Cleanup(self.Close)
	selfPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: self.Certificate().Raw})
	cases := []struct {
		name      string
		serving   *tls.Certificate // nil: httptest's self-signed certificate
		published []byte
		wantCA    bool   // the CA's fingerprint shown
		wantData  []byte // trusted afterwards; nil: the presented certificate
		wantErr   string // refused before asking
	}{
		{name: "the published CA signs it", serving: ptr(leaf.TLSCertificate(t)), published: ca.PEM, wantCA: true, wantData: ca.PEM},
		{name: "bundle with the CA among others", serving: ptr(leaf.TLSCertificate(t)),
			published: append(append([]byte(nil), other.PEM...), ca.PEM...), wantCA: true, wantData: ca.PEM},
		{name: "another CA published", serving: ptr(leaf.TLSCertificate(t)), published: other.PEM,
			wantErr: "the discovery document's certificateAuthorityData does not verify the server's certificate"},
		{name: "no CA published", serving: ptr(leaf.TLSCertificate(t))},
		{name: "self-signed, published as its own CA", published: selfPEM},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := discoveryServer(t, tc.serving, tc.published)
			var asked []Fingerprints
			d, err := Discover(t.Context(), srv.URL, nil, func(f Fingerprints) (bool, error) {
				asked = append(asked, f)
				return true, nil
			})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || len(asked) > 0 {
					t.Fatalf("Discover: %v after asking %v, want %q before asking", err, asked, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Discover: %v", err)
			}
			want := Fingerprints{Certificate: Fingerprint(srv.Certificate().Raw)}
			if tc.wantCA {
				block, _ := pem.Decode(ca.PEM)
				want.CA = Fingerprint(block.Bytes)
			}
			if diff := cmp.Diff([]Fingerprints{want}, asked); diff != "" {
				t.Errorf("shown to the user (-want +got):\n%s", diff)
			}
			wantData := tc.wantData
			if wantData == nil {
				wantData = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
			}
			if diff := cmp.Diff(string(wantData), string(d.CAData)); diff != "" {
				t.Errorf("trusted afterwards (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPublishedCAMustSignForTheHost: a CA that signed the certificate for other names is refused
// (Discover refuses such a certificate before this; this is the rule on its own).
func TestPublishedCAMustSignForTheHost(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA(t, "proxy CA")
	cert := ca.Issue(t, "aksoidc-proxy").TLSCertificate(t) // for 127.0.0.1 and ::1
	chain := []*x509.Certificate{cert.Leaf}
	block, _ := pem.Decode(ca.PEM)
	for server, want := range map[string]string{"https://127.0.0.1:8443": Fingerprint(block.Bytes), "https://[::1]": Fingerprint(block.Bytes),
		"https://localhost:8443": "", "https://kube.example.com": ""} {
		f, _, err := whatToTrust(server, chain, ca.PEM)
		if f.CA != want || (err == nil) != (want != "") {
			t.Errorf("%s: CA fingerprint %q, error %v; want %q", server, f.CA, err, want)
		}
	}
}

func TestFingerprintsMatch(t *testing.T) {
	t.Parallel()
	f := Fingerprints{Certificate: "SHA256:AA:BB", CA: "SHA256:CC:DD"}
	for fp, want := range map[string]bool{"SHA256:AA:BB": true, "sha256:cc:dd": true, "SHA256:EE": false, "": false} {
		if got := f.Match(fp); got != want {
			t.Errorf("Match(%q) = %v, want %v", fp, got, want)
		}
	}
	if (Fingerprints{Certificate: "SHA256:AA"}).Match("") {
		t.Error("an empty fingerprint matched a missing CA")
	}
}

// discoveryServer serves a discovery document publishing caPEM, over TLS with serving (or
// httptest's own certificate when nil).
func discoveryServer(t *testing.T, serving *tls.Certificate, caPEM []byte) *httptest.Server {
	t.Helper()
	doc, err := wellknown.Handler(wellknown.Document{IssuerURL: "https://issuer.example.com", ClientID: "kubectl",
		CertificateAuthorityData: caPEM})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+wellknown.Path, doc)
	srv := httptest.NewUnstartedServer(mux)
	if serving != nil {
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{*serving}, MinVersion: tls.VersionTLS12}
	}
	srv.StartTLS() // srv.Certificate() is then the served certificate
	t.Cleanup(srv.Close)
	return srv
}

func ptr[T any](v T) *T { return &v }
