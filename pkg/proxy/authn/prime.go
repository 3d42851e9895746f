package authn

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// probeKeyID is the kid of the token loadKeys presents; no issuer publishes it.
const probeKeyID = "aksoidc-keys-probe"

// loaded reports whether iss can verify tokens without reaching its issuer: its discovery
// document and its signing keys have been loaded. The oidc authenticator fetches discovery
// when it starts but the keys only at the first token it verifies, so until then a token
// arriving while the issuer is down would be refused. loadKeys makes that first fetch.
func (iss *issuer) loaded(ctx context.Context) error {
	if err := iss.token.HealthCheck(); err != nil {
		return err
	}
	if iss.keysLoaded.Load() {
		return nil
	}
	if err := iss.loadKeys(ctx); err != nil {
		return fmt.Errorf("issuer %s: keys not loaded: %w", iss.config.Issuer.URL, err)
	}
	iss.keysLoaded.Store(true)
	return nil
}

// loadKeys presents an unsigned token in the issuer's name with a kid no issuer uses; the
// verifier, finding no cached key for it, fetches the issuer's keys, then refuses the token.
func (iss *issuer) loadKeys(ctx context.Context) error {
	_, _, err := iss.token.AuthenticateToken(ctx, probeToken(iss.config.Issuer.URL, iss.config.Issuer.Audiences, iss.algs))
	switch {
	case err == nil:
		return errors.New("the probe token was accepted") // cannot happen: it carries no signature
	case strings.Contains(err.Error(), "fetching keys"):
		return err
	}
	return nil
}

func probeToken(issuerURL string, audiences, algs []string) string {
	alg := "RS256"
	if len(algs) > 0 && !slices.Contains(algs, alg) {
		alg = algs[0]
	}
	aud := ""
	if len(audiences) > 0 {
		aud = audiences[0]
	}
	now := time.Now().Unix()
	header, _ := json.Marshal(map[string]string{"alg": alg, "kid": probeKeyID, "typ": "JWT"})
	payload, _ := json.Marshal(map[string]any{"iss": issuerURL, "aud": aud, "sub": probeKeyID, "iat": now, "nbf": now, "exp": now + 300})
	enc := base64.RawURLEncoding.EncodeToString
	return enc(header) + "." + enc(payload) + "." + enc([]byte("not a signature"))
}
