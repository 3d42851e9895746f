package authn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"sync/atomic"
	"time"

	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apiserver/pkg/apis/apiserver"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/token/cache"
	tokenunion "k8s.io/apiserver/pkg/authentication/token/union"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/plugin/pkg/authenticator/token/oidc"

	"github.com/aksoidc/aksoidc/internal/jwtclaims"
)

// jwtSet is the verifier for one configuration: its issuers' oidc authenticators behind one
// token cache. A new configuration gets a new set (and so an empty cache), which keeps the
// authenticators of the issuers whose settings did not change.
type jwtSet struct {
	src     Source
	token   authenticator.Token
	issuers []*issuer
	urls    []string // every issuer's URL, whose tokens passthrough never sends to TokenReview
}

// issuer is one configured issuer's oidc authenticator, which loads discovery and keys in the
// background until cancel is called.
type issuer struct {
	config apiserver.JWTAuthenticator
	algs   []string
	token  oidc.AuthenticatorTokenWithHealthCheck
	check  issuerCheck
	cancel context.CancelFunc
	// keysLoaded is set once the issuer's keys have been fetched (see loaded).
	keysLoaded atomic.Bool
}

type issuerCheck struct {
	url          string
	discoveryURL string
	client       *http.Client
}

// CacheTTL bounds how long a verified token is reused without verifying it again; a cached
// identity is never used past the token's own exp.
const CacheTTL = 5 * time.Minute

func newJWTSet(ctx context.Context, src Source) (*jwtSet, error) {
	set, _, err := buildJWTSet(ctx, src, nil)
	return set, err
}

// buildJWTSet builds the set for src, taking from old every issuer whose settings are the same
// (whose keys are then already loaded, even if the issuer is down now). It also returns the
// issuers it created, which have yet to load.
func buildJWTSet(ctx context.Context, src Source, old *jwtSet) (*jwtSet, []*issuer, error) {
	set := &jwtSet{src: src}
	var created []*issuer
	tokens := make([]authenticator.Token, 0, len(src.Config.JWT))
	for _, jwt := range src.Config.JWT {
		iss := old.find(jwt, src.SigningAlgs)
		if iss == nil {
			var err error
			if iss, err = newIssuer(ctx, jwt, src.SigningAlgs); err != nil {
				cancelAll(created)
				return nil, nil, err
			}
			created = append(created, iss)
		}
		set.issuers = append(set.issuers, iss)
		set.urls = append(set.urls, jwt.Issuer.URL)
		tokens = append(tokens, iss.token)
	}
	verify := &expiryRecorder{next: tokenunion.NewFailOnError(tokens...), issuers: set.urls}
	set.token = cache.New(verify, false, CacheTTL, 0)
	return set, created, nil
}

func newIssuer(ctx context.Context, jwt apiserver.JWTAuthenticator, algs []string) (*issuer, error) {
	client, err := issuerClient(jwt.Issuer)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	a, err := oidc.New(ctx, oidc.Options{JWTAuthenticator: jwt, Client: client, SupportedSigningAlgs: algs})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("issuer %s: %w", jwt.Issuer.URL, err)
	}
	check := issuerCheck{url: jwt.Issuer.URL, discoveryURL: jwt.Issuer.DiscoveryURL, client: client}
	return &issuer{config: jwt, algs: algs, token: a, check: check, cancel: cancel}, nil
}

// find returns the issuer of s configured exactly as jwt (CA, audiences, mappings and rules
// included), or nil.
func (s *jwtSet) find(jwt apiserver.JWTAuthenticator, algs []string) *issuer {
	if s == nil {
		return nil
	}
	for _, iss := range s.issuers {
		if reflect.DeepEqual(iss.config, jwt) && slices.Equal(iss.algs, algs) {
			return iss
		}
	}
	return nil
}

// without returns the issuers of s that next does not use.
func (s *jwtSet) without(next *jwtSet) []*issuer {
	var gone []*issuer
	for _, iss := range s.issuers {
		if !slices.Contains(next.issuers, iss) {
			gone = append(gone, iss)
		}
	}
	return gone
}

// cancel stops every issuer of the set.
func (s *jwtSet) cancel() { cancelAll(s.issuers) }

func cancelAll(issuers []*issuer) {
	for _, iss := range issuers {
		iss.cancel()
	}
}

func issuerClient(iss apiserver.Issuer) (*http.Client, error) {
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if iss.CertificateAuthority != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(iss.CertificateAuthority)) {
			return nil, fmt.Errorf("issuer %s: certificateAuthority holds no PEM certificate", iss.URL)
		}
		tlsConfig.RootCAs = pool
	}
	tr := utilnet.SetTransportDefaults(&http.Transport{TLSClientConfig: tlsConfig})
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}, nil
}

// healthy reports whether every issuer's discovery document and keys have loaded.
func (s *jwtSet) healthy(ctx context.Context) error { return healthy(ctx, s.issuers) }

func healthy(ctx context.Context, issuers []*issuer) error {
	var errs []error
	for _, iss := range issuers {
		if err := iss.loaded(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// expiryRecorder sits under the token cache: it runs only when the cache misses, attaches the
// token's exp to the identity so that a cache hit can be refused once the token has expired,
// and holds the identity to CheckIdentity once per token rather than on every request.
type expiryRecorder struct {
	next    authenticator.Token
	issuers []string
}

// verifiedUser is a user.Info that remembers when its token expires and which configured
// issuer signed it.
type verifiedUser struct {
	user.Info
	expiry time.Time
	issuer string
	served atomic.Bool
}

func (e *expiryRecorder) AuthenticateToken(ctx context.Context, token string) (*authenticator.Response, bool, error) {
	resp, ok, err := e.next.AuthenticateToken(ctx, token)
	if err != nil || !ok {
		return resp, ok, err
	}
	claims, err := verifiedClaims(token)
	if err != nil {
		return nil, false, err
	}
	if err := CheckIdentity(resp.User); err != nil {
		return nil, false, &Error{Reason: ReasonInvalidIdentity, Err: err}
	}
	u := &verifiedUser{Info: resp.User, expiry: claims.expiry, issuer: configuredIssuer(claims.Iss, e.issuers)}
	return &authenticator.Response{Audiences: resp.Audiences, User: u}, true, nil
}

type tokenClaims struct {
	Exp    *json.Number `json:"exp"`
	Iss    string       `json:"iss"`
	expiry time.Time
}

// verifiedClaims reads exp and iss from a token the oidc authenticator has already verified.
func verifiedClaims(token string) (tokenClaims, error) {
	var claims tokenClaims
	if err := jwtclaims.Decode(token, &claims); err != nil {
		return claims, err
	}
	if claims.Exp == nil {
		return claims, errors.New("claim exp is missing")
	}
	seconds, err := claims.Exp.Float64()
	if err != nil {
		return claims, fmt.Errorf("claim exp: %w", err)
	}
	claims.expiry = time.Unix(int64(seconds), 0)
	return claims, nil
}

// configuredIssuer is the configured issuer URL that iss names, "" for any other value: a
// metric label, so an attacker's token cannot add label values.
func configuredIssuer(iss string, issuers []string) string {
	// The oidc authenticator reads Google's legacy issuer as its https URL.
	if iss == "accounts.google.com" {
		iss = "https://accounts.google.com"
	}
	if slices.Contains(issuers, iss) {
		return iss
	}
	return ""
}

// claimedIssuer is the configured issuer a token that was refused names, unverified, or "".
func claimedIssuer(token string, issuers []string) string {
	var claims struct {
		Iss string `json:"iss"`
	}
	if jwtclaims.Decode(token, &claims) != nil {
		return ""
	}
	return configuredIssuer(claims.Iss, issuers)
}
