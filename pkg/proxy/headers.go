package proxy

import (
	"fmt"
	"net/http"
	"strings"

	"k8s.io/apiserver/pkg/authentication/user"

	"github.com/aksoidc/aksoidc/pkg/proxy/authn"
)

// ClientIPExtra is the user-extra key under which the client's address reaches the API server.
const ClientIPExtra = authn.ReservedExtraPrefix + "client-ip"

// websocketBearerPrefix marks a bearer token carried in Sec-WebSocket-Protocol (browsers cannot
// set Authorization on a WebSocket).
const websocketBearerPrefix = "base64url.bearer.authorization.k8s.io."

// isImpersonationHeader reports whether a header name starts with "Impersonate", in any case:
// the one test of what counts as a client's impersonation, whatever the exact spelling.
func isImpersonationHeader(name string) bool {
	return len(name) >= len("impersonate") && strings.EqualFold(name[:len("impersonate")], "impersonate")
}

// hasImpersonation reports whether the request carries any impersonation header, and which.
func hasImpersonation(h http.Header) (string, bool) {
	for name := range h {
		if isImpersonationHeader(name) {
			return name, true
		}
	}
	return "", false
}

// stripCredentials removes everything by which a client could speak for someone: Authorization,
// every Impersonate* header, request-header authentication headers and bearer tokens hidden in
// the WebSocket protocol list.
func stripCredentials(h http.Header) {
	var protocols []string
	for name, values := range h {
		lower := strings.ToLower(name)
		switch {
		case lower == "authorization" || isImpersonationHeader(name) || strings.HasPrefix(lower, "x-remote-"),
			lower == "audit-id": // the proxy names each request; see withAccessLog
			delete(h, name)
		case lower == "sec-websocket-protocol":
			// Any spelling: a name the server did not canonicalize still reaches the API server.
			protocols = append(protocols, values...)
			delete(h, name)
		}
	}
	var kept []string
	for _, line := range protocols {
		for _, p := range strings.Split(line, ",") {
			if p = strings.TrimSpace(p); p != "" && !strings.HasPrefix(p, websocketBearerPrefix) {
				kept = append(kept, p)
			}
		}
	}
	if len(kept) > 0 {
		h.Set("Sec-WebSocket-Protocol", strings.Join(kept, ", "))
	}
}

// setImpersonation is the one place where an identity becomes impersonation headers: the API
// server then treats the request as u, with the client's address as an extra, and, when u is
// whom an authenticated user asked to act as (kubectl --as), with that user as original-*
// extras. authn has refused every identity whose values would not arrive byte for byte (white
// space, control characters, upper-case extra keys); a client's request arrived as headers and
// parseImpersonation refused upper-case keys. Keys under authn.ReservedExtraPrefix are the
// proxy's own: u's are dropped, so only the proxy says who asked and from where.
func setImpersonation(h http.Header, u, original user.Info, clientIP string) {
	h.Set("Impersonate-User", u.GetName())
	for _, g := range u.GetGroups() {
		h.Add("Impersonate-Group", g)
	}
	if uid := u.GetUID(); uid != "" {
		h.Set("Impersonate-Uid", uid)
	}
	for key, values := range u.GetExtra() {
		if strings.HasPrefix(strings.ToLower(key), authn.ReservedExtraPrefix) {
			continue // only the proxy says where a request came from
		}
		for _, v := range values {
			h.Add("Impersonate-Extra-"+extraKeyEscape(key), v)
		}
	}
	if clientIP != "" {
		h[clientIPHeader] = append(h[clientIPHeader], clientIP)
	}
	if original != nil {
		setOriginal(h, original)
	}
}

// The canonical header names of the original-* extras, worked out once.
var (
	originalUsernameHeader = http.CanonicalHeaderKey("Impersonate-Extra-" + extraKeyEscape(OriginalUsernameExtra))
	originalUIDHeader      = http.CanonicalHeaderKey("Impersonate-Extra-" + extraKeyEscape(OriginalUIDExtra))
	originalGroupsHeader   = http.CanonicalHeaderKey("Impersonate-Extra-" + extraKeyEscape(OriginalGroupsExtra))
)

// setOriginal records the authenticated user behind an impersonation; the API server's audit
// log shows it among the impersonated user's extras.
func setOriginal(h http.Header, original user.Info) {
	h[originalUsernameHeader] = []string{original.GetName()}
	if uid := original.GetUID(); uid != "" {
		h[originalUIDHeader] = []string{uid}
	}
	if groups := original.GetGroups(); len(groups) > 0 {
		h[originalGroupsHeader] = append([]string(nil), groups...)
	}
}

// clientIPHeader is the canonical header name for ClientIPExtra, worked out once rather than
// on every request.
var clientIPHeader = http.CanonicalHeaderKey("Impersonate-Extra-" + extraKeyEscape(ClientIPExtra))

// extraKeyEscape lower-cases an extra key and percent-encodes the bytes a header name cannot
// hold, and '%' itself, which is how kube-apiserver decodes Impersonate-Extra-* names.
func extraKeyEscape(key string) string {
	key = strings.ToLower(key)
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c == '%' || !isTokenByte(c) {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// isTokenByte reports whether c may appear in an HTTP header name (RFC 7230 tchar).
func isTokenByte(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$&'*+-.^_`|~", c) >= 0
}
