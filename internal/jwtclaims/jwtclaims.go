// Package jwtclaims is the one reader of a compact JWT's parts: whoami, setup, the proxy's
// checks and the tests all peek at claims through it, so a token means the same to each.
// Nothing here verifies a signature: callers read tokens that were verified elsewhere, or
// only look at their shape.
package jwtclaims

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Errors never quote the token or a character of it: a piece of a token must not reach a log
// or a terminal.
var errNotObject = errors.New("JWT payload is not a JSON object")

// Split decodes the header, payload and signature of a compact JWS.
func Split(token string) ([3][]byte, error) {
	var parts [3][]byte
	if n := strings.Count(token, ".") + 1; n != 3 {
		return parts, fmt.Errorf("token has %d dot-separated parts, a JWT has 3", n)
	}
	for i, s := range strings.SplitN(token, ".", 3) {
		b, err := Segment(s)
		if err != nil {
			return parts, fmt.Errorf("JWT part %d: %w", i+1, err)
		}
		parts[i] = b
	}
	return parts, nil
}

// Segment decodes one part: unpadded base64url. The decoder alone would also skip CR and LF,
// which a JWT never holds.
func Segment(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("empty")
	}
	if strings.IndexFunc(s, notBase64URL) >= 0 {
		return nil, errors.New("not unpadded base64url")
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, errors.New("not unpadded base64url")
	}
	return b, nil
}

func notBase64URL(r rune) bool {
	return (r < 'A' || r > 'Z') && (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' && r != '_'
}

// Decode unmarshals token's payload, a JSON object, into v (a struct or a map).
func Decode(token string, v any) error {
	parts, err := Split(token)
	if err != nil {
		return err
	}
	payload := strings.TrimSpace(string(parts[1]))
	if !strings.HasPrefix(payload, "{") {
		return errNotObject
	}
	if err := json.Unmarshal(parts[1], v); err != nil {
		// encoding/json's messages quote the value at fault: name the problem only.
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return errors.New("JWT payload: a claim has an unexpected type")
		}
		return errNotObject
	}
	return nil
}
