package plugin_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/pkg/apis/clientauthentication"
	"k8s.io/client-go/pkg/apis/clientauthentication/install"
	clientauthv1 "k8s.io/client-go/pkg/apis/clientauthentication/v1"
	clientauthv1beta1 "k8s.io/client-go/pkg/apis/clientauthentication/v1beta1"
)

// codecs decode ExecCredentials the way client-go's exec authenticator does
// (k8s.io/client-go/plugin/pkg/client/auth/exec).
var codecs = func() serializer.CodecFactory {
	scheme := runtime.NewScheme()
	install.Install(scheme)
	return serializer.NewCodecFactory(scheme)
}()

var (
	v1      = clientauthv1.SchemeGroupVersion
	v1beta1 = clientauthv1beta1.SchemeGroupVersion
)

// credential is what kubectl takes from a get-token run.
type credential struct {
	token  string
	expiry time.Time
}

// decodeCredential decodes stdout as client-go does for a plugin configured
// with apiVersion want, and checks that stdout is exactly one JSON document.
func decodeCredential(t *testing.T, stdout string, want schema.GroupVersion) credential {
	t.Helper()
	if n := countJSONDocuments(t, stdout); n != 1 {
		t.Fatalf("stdout holds %d JSON documents, want exactly one ExecCredential:\n%s", n, stdout)
	}
	cred := &clientauthentication.ExecCredential{}
	_, gvk, err := codecs.UniversalDecoder(want).Decode([]byte(stdout), nil, cred)
	if err != nil {
		t.Fatalf("client-go cannot decode stdout: %v\n%s", err, stdout)
	}
	if gvk.GroupVersion() != want || gvk.Kind != "ExecCredential" {
		t.Fatalf("stdout is a %s, want an ExecCredential of %s", gvk, want)
	}
	if cred.Status == nil || cred.Status.Token == "" {
		t.Fatalf("the ExecCredential has no status.token:\n%s", stdout)
	}
	if cred.Status.ExpirationTimestamp == nil {
		t.Fatalf("the ExecCredential has no status.expirationTimestamp:\n%s", stdout)
	}
	return credential{token: cred.Status.Token, expiry: cred.Status.ExpirationTimestamp.Time}
}

func countJSONDocuments(t *testing.T, s string) int {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	n := 0
	for {
		var v json.RawMessage
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return n
		}
		if err != nil {
			t.Fatalf("stdout is not a stream of JSON documents (%v):\n%s", err, s)
		}
		n++
	}
}

// verifyIDToken checks the token as the API server would: signed by the
// issuer's current keys, for this client, not expired. It returns the
// token's claims.
func verifyIDToken(t *testing.T, issuerURL, clientID, raw string) *oidc.IDToken {
	t.Helper()
	p, err := oidc.NewProvider(t.Context(), issuerURL)
	if err != nil {
		t.Fatalf("discover %s: %v", issuerURL, err)
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: clientID}).Verify(t.Context(), raw)
	if err != nil {
		t.Fatalf("the token does not verify against %s: %v", issuerURL, err)
	}
	return idt
}

// verifyCredential decodes an ExecCredential of apiVersion want, verifies
// its ID token against the issuer and checks that expirationTimestamp is the
// token's expiry.
func verifyCredential(t *testing.T, issuerURL, clientID, stdout string, want schema.GroupVersion) (credential, *oidc.IDToken) {
	t.Helper()
	cred := decodeCredential(t, stdout, want)
	idt := verifyIDToken(t, issuerURL, clientID, cred.token)
	if !cred.expiry.Equal(idt.Expiry) {
		t.Errorf("expirationTimestamp %s, want the token's exp %s", cred.expiry, idt.Expiry)
	}
	return cred, idt
}
