package wellknown

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"unicode/utf8"
)

// Bounds on the document's fields. No honest issuer, client ID or scope comes
// near them; they keep a hostile document from filling a kubeconfig.
const (
	MaxIssuerURLLength = 2048
	MaxTokenLength     = 256
	MaxExtraScopes     = 64
	MaxClaims          = 64
)

// validateIssuerURL wants what OIDC Discovery 1.0 §3 allows for an issuer:
// an absolute https URL without user info, query or fragment. Plain http is
// allowed only for a loopback host, where no network can tamper with it (as
// get-token's --issuer-url). Only printable ASCII without space is allowed:
// a URL needs nothing else (RFC 3986), and the issuer must equal a token's
// iss claim byte for byte.
func validateIssuerURL(raw string) error {
	switch {
	case raw == "":
		return errors.New("issuerURL is empty")
	case len(raw) > MaxIssuerURLLength:
		return fmt.Errorf("issuerURL: longer than %d bytes", MaxIssuerURLLength)
	case strings.IndexFunc(raw, func(r rune) bool { return r <= ' ' || r >= 0x7f }) >= 0:
		return fmt.Errorf("issuerURL %q: only printable ASCII without space is allowed", raw)
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return fmt.Errorf("issuerURL %q: not a URL", raw)
	case u.Scheme != "https" && u.Scheme != "http", u.Opaque != "", u.Hostname() == "":
		return fmt.Errorf("issuerURL %q: not an absolute https URL", raw)
	case u.Scheme == "http" && !IsLoopbackHost(u.Hostname()):
		return fmt.Errorf("issuerURL %q: plain http is allowed only for a loopback host; use https", raw)
	case u.User != nil:
		return fmt.Errorf("issuerURL %q: must not hold user info", raw)
	case u.RawQuery != "" || u.ForceQuery:
		return fmt.Errorf("issuerURL %q: must not hold a query", raw)
	case strings.Contains(raw, "#"):
		return fmt.Errorf("issuerURL %q: must not hold a fragment", raw)
	}
	return nil
}

// IsLoopbackHost reports whether a URL's host (url.URL.Hostname) names this machine: a
// loopback IP or localhost in any case (host names are case-insensitive). It is the one rule
// for where plain http is allowed, for get-token's --issuer-url and a discovery document alike.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// validateToken wants a single RFC 6749 scope-token (§3.3: %x21 / %x23-5B /
// %x5D-7E), which also fits a client ID: no space, quote or backslash, but
// commas are allowed, so a kubeconfig writer must not split on them. A
// leading '-' is refused so that no value can pass for a flag. The error
// starts with the value, for the caller to prefix with the field's name.
func validateToken(s string) error {
	switch {
	case s == "":
		return errors.New("is empty")
	case len(s) > MaxTokenLength:
		return fmt.Errorf("is longer than %d bytes", MaxTokenLength)
	case s[0] == '-':
		return fmt.Errorf("%q: must not start with '-'", s)
	}
	for i := range len(s) {
		if c := s[i]; c < 0x21 || c == '"' || c == '\\' || c > 0x7e {
			return fmt.Errorf("%q: byte %d (%s) is not allowed in an RFC 6749 scope token", s, i, showByte(c))
		}
	}
	return nil
}

// ValidateClaim wants a claim name that can be shown: a JSON object key may be
// any string, but one that is not UTF-8, holds a control character (C0, DEL,
// C1) or is very long names no claim of an honest configuration. The error
// starts with the value, for the caller to prefix with the field's name.
func ValidateClaim(s string) error {
	switch {
	case s == "":
		return errors.New("is empty")
	case len(s) > MaxTokenLength:
		return fmt.Errorf("is longer than %d bytes", MaxTokenLength)
	case !utf8.ValidString(s):
		return fmt.Errorf("%q: not UTF-8", s)
	case strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r >= 0x7f && r < 0xa0 }) >= 0:
		return fmt.Errorf("%q: holds a control character", s)
	}
	return nil
}

// showByte quotes a printable ASCII byte and gives any other in hex: a lone
// byte of a UTF-8 sequence quoted as a rune would name another character.
func showByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return fmt.Sprintf("%q", c)
	}
	return fmt.Sprintf("0x%02x", c)
}

// validateCertificates wants one or more PEM blocks, all of them
// certificates that parse. Text around the blocks is allowed, as in the CA
// bundles openssl writes; a private key or anything else PEM is not.
func validateCertificates(data []byte) error {
	n := 0
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		n++
		if block.Type != "CERTIFICATE" {
			return fmt.Errorf("PEM block %d is a %q, want CERTIFICATE", n, block.Type)
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return fmt.Errorf("PEM block %d: %w", n, err)
		}
	}
	if n == 0 {
		return errors.New("holds no PEM certificate")
	}
	return nil
}
