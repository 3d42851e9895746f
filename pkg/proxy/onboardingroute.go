package proxy

import (
	"net/http"
	"strconv"
	"strings"
)

// kubeconfigPath is where a browser downloads the onboarding kubeconfig; no Kubernetes API
// lives there.
const kubeconfigPath = "/kubeconfig"

// withOnboarding answers a browser's visit itself (isOnboardingRequest); every other request,
// kubectl's `get --raw /` included, goes on as before.
func withOnboarding(page http.Handler) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if page == nil {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if isOnboardingRequest(r) {
				page.ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// isOnboardingRequest: a GET or HEAD without credentials (no Authorization header at all, no
// upgrade, whose WebSocket protocol header could carry a token) of /kubeconfig, or of / from a
// client that prefers HTML to what the API server speaks.
func isOnboardingRequest(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if _, ok := r.Header["Authorization"]; ok {
		return false
	}
	if r.Header.Get("Upgrade") != "" || r.Header.Get("Sec-Websocket-Protocol") != "" {
		return false
	}
	switch r.URL.Path {
	case kubeconfigPath:
		return true
	case "/":
		return prefersHTML(r.Header.Values("Accept"))
	}
	return false
}

// maxMediaRanges bounds the work on one Accept header; browsers send fewer than ten.
const maxMediaRanges = 64

// apiTypes are what kubectl and client libraries ask the API server for.
var apiTypes = []string{"application/json", "application/yaml", "application/vnd.kubernetes.protobuf", "application/cbor"}

// prefersHTML reports whether the Accept header names text/html (or XHTML) explicitly and
// weighs it above every API type: a browser's does; kubectl's, curl's `*/*` and an
// `application/json, text/html` tie do not. For each type the most specific range applies
// (RFC 9110 12.5.1).
func prefersHTML(accept []string) bool {
	ranges := parseAccept(accept)
	html, explicit := 0.0, false
	for _, t := range []string{"text/html", "application/xhtml+xml"} {
		q, exact := weight(ranges, t)
		if exact && q > 0 {
			html, explicit = max(html, q), true
		}
	}
	if !explicit {
		return false
	}
	for _, t := range apiTypes {
		if q, _ := weight(ranges, t); q >= html {
			return false
		}
	}
	return true
}

type mediaRange struct {
	typ, subtype string
	q            float64
}

func parseAccept(values []string) []mediaRange {
	var out []mediaRange
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			if len(out) == maxMediaRanges {
				return out
			}
			if m, ok := parseMediaRange(part); ok {
				out = append(out, m)
			}
		}
	}
	return out
}

// parseMediaRange reads `type/subtype;param=value;q=0.8`; a range it cannot read is left out,
// as RFC 9110 lets a server ignore it.
func parseMediaRange(s string) (mediaRange, bool) {
	params := strings.Split(s, ";")
	typ, subtype, ok := strings.Cut(strings.ToLower(strings.TrimSpace(params[0])), "/")
	if !ok || typ == "" || subtype == "" || (typ == "*" && subtype != "*") {
		return mediaRange{}, false
	}
	m := mediaRange{typ: typ, subtype: subtype, q: 1}
	for _, p := range params[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || q < 0 || q > 1 || len(v) > 6 {
			return mediaRange{}, false
		}
		m.q = q
	}
	return m, true
}

// weight is the q of the most specific range matching typ ("a/b"), 0 if none does; exact
// reports whether that range names typ itself.
func weight(ranges []mediaRange, typ string) (q float64, exact bool) {
	t, sub, _ := strings.Cut(typ, "/")
	best := -1
	for _, m := range ranges {
		spec := -1
		switch {
		case m.typ == t && m.subtype == sub:
			spec = 2
		case m.typ == t && m.subtype == "*":
			spec = 1
		case m.typ == "*":
			spec = 0
		}
		if spec > best || (spec == best && spec >= 0 && m.q > q) {
			best, q = spec, m.q
		}
	}
	return q, best == 2
}
