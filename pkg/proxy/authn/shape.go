package authn

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/aksoidc/aksoidc/internal/jwtclaims"
)

// MaxPassthroughToken bounds the tokens worth a TokenReview: a service-account token is about
// 1 KiB, and anything longer is refused before it costs an API call.
const MaxPassthroughToken = 16 << 10

// The JSON errors of a malformed part quote the character at fault: they are dropped so that no
// piece of a token reaches the log.
var (
	errHeaderNotObject  = errors.New("JWT header is not a JSON object")
	errPayloadNotObject = errors.New("JWT payload is not a JSON object")
)

// passthroughCandidate returns why token cannot be one the API server issued, and so is not worth
// a TokenReview, or nil. A candidate is a compact JWS of at most MaxPassthroughToken bytes whose
// header names its alg and whose iss is none of issuers: the configured issuers' tokens are for
// their JWT authenticators alone, and one those refused must not get a second chance.
func passthroughCandidate(token string, issuers []string) error {
	if len(token) > MaxPassthroughToken {
		return fmt.Errorf("token is longer than %d bytes", MaxPassthroughToken)
	}
	decoded, err := jwtclaims.Split(token)
	if err != nil {
		return err
	}
	if err := checkHeader(decoded[0]); err != nil {
		return err
	}
	return checkIssuer(decoded[1], issuers)
}

// checkHeader wants a signed JWS: the API server issues no unsigned token.
func checkHeader(header []byte) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(header, &fields); err != nil || fields == nil {
		return errHeaderNotObject
	}
	var alg string
	if raw, ok := fields["alg"]; !ok || json.Unmarshal(raw, &alg) != nil || alg == "" {
		return errors.New("JWT header has no alg")
	}
	if strings.EqualFold(alg, "none") {
		return errors.New("JWT header alg is none")
	}
	return nil
}

// checkIssuer refuses a payload that is not a JSON object or whose iss is a configured issuer.
// The oidc authenticator reads iss with encoding/json, which matches keys case-insensitively and
// keeps the last of duplicates, so every key that folds to iss is checked.
func checkIssuer(payload []byte, issuers []string) error {
	dec := json.NewDecoder(bytes.NewReader(payload))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return errPayloadNotObject
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return errPayloadNotObject
		}
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return errPayloadNotObject
		}
		if k, _ := key.(string); strings.EqualFold(k, "iss") {
			if err := notConfigured(value, issuers); err != nil {
				return err
			}
		}
	}
	if _, err := dec.Token(); err != nil {
		return errPayloadNotObject
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errPayloadNotObject
	}
	return nil
}

func notConfigured(raw json.RawMessage, issuers []string) error {
	var iss string
	if err := json.Unmarshal(raw, &iss); err != nil {
		return errors.New("JWT claim iss is not a string")
	}
	// The oidc authenticator reads Google's legacy issuer as its https URL.
	if iss == "accounts.google.com" {
		iss = "https://accounts.google.com"
	}
	if slices.Contains(issuers, iss) {
		return fmt.Errorf("JWT claim iss is the configured issuer %s, whose tokens only its authenticator may accept", iss)
	}
	return nil
}
