// Package oidctest serves a hand-written OIDC issuer over TLS on 127.0.0.1 for tests. It signs
// JWTs by hand so that it can also produce tokens a real identity provider never would (alg
// "none", HS256 keyed with the public key, an unknown key).
package oidctest

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aksoidc/aksoidc/test/testpki"
)

// Issuer is a running test OIDC issuer.
type Issuer struct {
	URL    string          // https://127.0.0.1:PORT, no trailing slash; also the `iss` it signs
	CAFile string          // PEM file with the CA that signed the server certificate
	CAPEM  []byte          // contents of CAFile
	Mux    *http.ServeMux  // serves discovery and keys; tests may add handlers before use
	Key    *rsa.PrivateKey // signing key at start, published in JWKS with kid "k1"

	unknownKey *rsa.PrivateKey
	down       atomic.Bool
	// rotated, once RotateKey has run, replaces Key and "k1" in JWKS and signatures.
	rotated atomic.Pointer[rotatedKey]
	// revocation publishes revocation_endpoint (RFC 7009) in discovery (see Provider.EnableRevocation).
	revocation atomic.Bool
}

// SignMode selects how SignMode signs a token.
type SignMode int

const (
	// RS256 signs with Key and kid "k1", as a real issuer would.
	RS256 SignMode = iota
	// None sets alg "none" and an empty signature.
	None
	// HS256WithPublicKey signs with HMAC-SHA256 keyed with the PEM of the public key (the classic
	// algorithm-confusion attack).
	HS256WithPublicKey
	// UnknownKey signs RS256 with a key that is not in the JWKS, kid "unknown".
	UnknownKey
)

// New starts an issuer and closes it with t.Cleanup.
func New(t testing.TB) *Issuer {
	t.Helper()
	ca := testpki.NewCA(t, "oidctest CA")
	i := &Issuer{
		CAPEM:      ca.PEM,
		Mux:        http.NewServeMux(),
		Key:        newRSAKey(t),
		unknownKey: newRSAKey(t),
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(i.serve))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.Issue(t, "127.0.0.1").TLSCertificate(t)}, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	i.URL = srv.URL
	i.CAFile = filepath.Join(t.TempDir(), "issuer-ca.pem")
	if err := os.WriteFile(i.CAFile, ca.PEM, 0o600); err != nil {
		t.Fatalf("write issuer CA file: %v", err)
	}
	i.Mux.HandleFunc("GET /.well-known/openid-configuration", i.serveDiscovery)
	i.Mux.HandleFunc("GET /keys", i.serveKeys)
	return i
}

type rotatedKey struct {
	key *rsa.PrivateKey
	kid string
}

// RotateKey retires the signing key: from now on tokens are signed with a new key under a new
// kid, and JWKS publishes only that one, as an identity provider that has finished a rotation.
func (i *Issuer) RotateKey(t testing.TB) {
	t.Helper()
	_, kid := i.signingKey()
	n, _ := strconv.Atoi(strings.TrimPrefix(kid, "k"))
	i.rotated.Store(&rotatedKey{key: newRSAKey(t), kid: "k" + strconv.Itoa(n+1)})
}

// signingKey is the current signing key and its kid.
func (i *Issuer) signingKey() (*rsa.PrivateKey, string) {
	if r := i.rotated.Load(); r != nil {
		return r.key, r.kid
	}
	return i.Key, "k1"
}

// SetDown makes the issuer answer every request with 503 (true), as an identity provider that is
// down, or serve again (false).
func (i *Issuer) SetDown(down bool) { i.down.Store(down) }

func (i *Issuer) serve(w http.ResponseWriter, r *http.Request) {
	if i.down.Load() {
		http.Error(w, "issuer is down", http.StatusServiceUnavailable)
		return
	}
	i.Mux.ServeHTTP(w, r)
}

func newRSAKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("generate RSA key: %v", err)
	}
	return key
}

func (i *Issuer) serveDiscovery(w http.ResponseWriter, _ *http.Request) {
	doc := map[string]any{
		"issuer":                                i.URL,
		"authorization_endpoint":                i.URL + "/authorize",
		"token_endpoint":                        i.URL + "/token",
		"device_authorization_endpoint":         i.URL + "/device/code",
		"jwks_uri":                              i.URL + "/keys",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
		"grant_types_supported": []string{
			"authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code",
		},
	}
	if i.revocation.Load() {
		doc["revocation_endpoint"] = i.URL + "/revoke"
	}
	writeJSON(w, doc)
}

func (i *Issuer) serveKeys(w http.ResponseWriter, _ *http.Request) {
	key, kid := i.signingKey()
	pub := key.PublicKey
	writeJSON(w, map[string]any{"keys": []map[string]any{{
		"kty": "RSA",
		"use": "sig",
		"alg": "RS256",
		"kid": kid,
		"n":   b64(pub.N.Bytes()),
		"e":   b64(big.NewInt(int64(pub.E)).Bytes()),
	}}})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// Claims returns a valid claim set for sub and aud that expires after ttl (negative for a token
// that has already expired).
func (i *Issuer) Claims(sub, aud string, ttl time.Duration) map[string]any {
	now := time.Now().Unix()
	return map[string]any{
		"iss": i.URL,
		"sub": sub,
		"aud": aud,
		"iat": now,
		"nbf": now,
		"exp": time.Now().Add(ttl).Unix(),
	}
}

// Sign returns claims as an RS256 JWT signed with the current key (Key, kid "k1", until RotateKey).
func (i *Issuer) Sign(t testing.TB, claims map[string]any) string {
	t.Helper()
	return i.SignMode(t, RS256, claims)
}

// SignMode returns claims as a JWT signed as mode says.
func (i *Issuer) SignMode(t testing.TB, mode SignMode, claims map[string]any) string {
	t.Helper()
	header := map[string]any{"typ": "JWT"}
	switch mode {
	case RS256:
		_, kid := i.signingKey()
		header["alg"], header["kid"] = "RS256", kid
	case UnknownKey:
		header["alg"], header["kid"] = "RS256", "unknown"
	case None:
		header["alg"] = "none"
	case HS256WithPublicKey:
		header["alg"], header["kid"] = "HS256", "k1"
	default:
		t.Fatalf("unknown sign mode %d", mode)
	}
	signingInput := encodeSegment(t, header) + "." + encodeSegment(t, claims)
	return signingInput + "." + b64(i.signature(t, mode, []byte(signingInput)))
}

func (i *Issuer) signature(t testing.TB, mode SignMode, input []byte) []byte {
	t.Helper()
	switch mode {
	case None:
		return nil
	case HS256WithPublicKey:
		der, err := x509.MarshalPKIXPublicKey(&i.Key.PublicKey)
		if err != nil {
			t.Fatalf("marshal public key: %v", err)
		}
		mac := hmac.New(sha256.New, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
		mac.Write(input)
		return mac.Sum(nil)
	}
	key, _ := i.signingKey()
	if mode == UnknownKey {
		key = i.unknownKey
	}
	digest := sha256.Sum256(input)
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		t.Fatalf("sign token: %v", err)
	}
	return sig
}

func encodeSegment(t testing.TB, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("encode JWT segment: %v", err)
	}
	return b64(data)
}

func b64(data []byte) string { return base64.RawURLEncoding.EncodeToString(data) }
