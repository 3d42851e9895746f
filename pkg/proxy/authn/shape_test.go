package authn

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var shapeIssuers = []string{"https://issuer.example", "https://accounts.google.com"}

func seg(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// jws joins a header and a payload, given as JSON text, with a signature.
func jws(header, payload string) string {
	return seg(header) + "." + seg(payload) + "." + seg("signature")
}

const (
	rs256             = `{"alg":"RS256","kid":"k1"}`
	base64URLAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
)

func TestPassthroughCandidate(t *testing.T) {
	sa := jws(rs256, `{"iss":"https://kubernetes.default.svc.cluster.local","sub":"system:serviceaccount:ci:bot"}`)
	prefix := seg(rs256) + "." + seg(`{}`) + "."
	tests := []struct {
		name  string
		token string
		want  string // "" for a candidate, else the reason
	}{
		{"service-account token", sa, ""},
		{"legacy service-account token", jws(rs256, `{"iss":"kubernetes/serviceaccount"}`), ""},
		{"no iss", jws(rs256, `{"sub":"x"}`), ""},
		{"issuer with another path", jws(rs256, `{"iss":"https://issuer.example/other"}`), ""},
		{"16 KiB exactly", prefix + strings.Repeat("A", MaxPassthroughToken-len(prefix)), ""},
		{"one byte over 16 KiB", prefix + strings.Repeat("A", MaxPassthroughToken-len(prefix)+1), "token is longer than 16384 bytes"},
		{"opaque token", "garbage-token-value", "token has 1 dot-separated parts, a JWT has 3"},
		{"bootstrap token", "abcdef.0123456789abcdef", "token has 2 dot-separated parts, a JWT has 3"},
		{"four parts", sa + ".x", "token has 4 dot-separated parts, a JWT has 3"},
		{"empty signature", prefix, "JWT part 3: empty"},
		{"padded base64", seg(rs256) + "=." + seg(`{}`) + ".c2ln", "JWT part 1: not unpadded base64url"},
		{"standard base64 alphabet", prefix + "a+/b", "JWT part 3: not unpadded base64url"},
		{"line break inside a part", prefix + "c2\nln", "JWT part 3: not unpadded base64url"},
		{"impossible base64 length", prefix + "abcde", "JWT part 3: not unpadded base64url"},
		{"header not JSON", jws(`not json`, `{}`), "JWT header is not a JSON object"},
		{"header a JSON array", jws(`["alg"]`, `{}`), "JWT header is not a JSON object"},
		{"header null", jws(`null`, `{}`), "JWT header is not a JSON object"},
		{"header without alg", jws(`{"typ":"JWT"}`, `{}`), "JWT header has no alg"},
		{"header alg not a string", jws(`{"alg":1}`, `{}`), "JWT header has no alg"},
		{"header alg none", jws(`{"alg":"None"}`, `{}`), "JWT header alg is none"},
		{"payload not JSON", jws(rs256, `{"iss":`), "JWT payload is not a JSON object"},
		{"payload a string", jws(rs256, `"https://issuer.example"`), "JWT payload is not a JSON object"},
		{"payload with trailing data", jws(rs256, `{}{}`), "JWT payload is not a JSON object"},
		{"iss not a string", jws(rs256, `{"iss":["https://issuer.example"]}`), "JWT claim iss is not a string"},
		{"configured issuer", jws(rs256, `{"iss":"https://issuer.example"}`), configured("https://issuer.example")},
		{"configured issuer, key in capitals", jws(rs256, `{"ISS":"https://issuer.example"}`), configured("https://issuer.example")},
		{"configured issuer, key with a long s (folds to iss)", jws(rs256, `{"i\u017fs":"https://issuer.example"}`), configured("https://issuer.example")},
		{"configured issuer before a duplicate", jws(rs256, `{"iss":"https://issuer.example","iss":"other"}`), configured("https://issuer.example")},
		{"configured issuer as a JSON escape", jws(rs256, `{"iss":"https:\/\/issuer.example"}`), configured("https://issuer.example")},
		{"Google's legacy issuer", jws(rs256, `{"iss":"accounts.google.com"}`), configured("https://accounts.google.com")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ""
			if err := passthroughCandidate(tt.token, shapeIssuers); err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("passthroughCandidate (-want +got):\n%s", diff)
			}
		})
	}
}

func configured(iss string) string {
	return "JWT claim iss is the configured issuer " + iss + ", whose tokens only its authenticator may accept"
}

// FuzzPassthroughShape (seeds in testdata/fuzz) checks that only well-formed JWTs of no configured issuer are sent to
// TokenReview, read back with independent means, and that no refusal quotes the token.
func FuzzPassthroughShape(f *testing.F) {
	f.Fuzz(func(t *testing.T, token string) {
		err := passthroughCandidate(token, shapeIssuers)
		if err != nil {
			for _, part := range strings.Split(token, ".") {
				if len(part) > 8 && strings.Contains(err.Error(), part) {
					t.Fatalf("refusal %q quotes the token", err)
				}
			}
			return
		}
		if len(token) > MaxPassthroughToken {
			t.Fatalf("accepted a token of %d bytes", len(token))
		}
		parts := strings.Split(token, ".")
		if len(parts) != 3 {
			t.Fatalf("accepted a token of %d parts", len(parts))
		}
		var decoded [3][]byte
		for i, p := range parts {
			b, err := base64.RawURLEncoding.DecodeString(p)
			if p == "" || strings.Trim(p, base64URLAlphabet) != "" || err != nil {
				t.Fatalf("accepted part %d %q, which is not unpadded base64url", i+1, p)
			}
			decoded[i] = b
		}
		checkAcceptedHeader(t, decoded[0])
		checkAcceptedPayload(t, decoded[1])
	})
}

func checkAcceptedHeader(t *testing.T, header []byte) {
	t.Helper()
	var h map[string]any
	if err := json.Unmarshal(header, &h); err != nil || h == nil {
		t.Fatalf("accepted header %q, which is not a JSON object", header)
	}
	if alg, ok := h["alg"].(string); !ok || alg == "" || strings.EqualFold(alg, "none") {
		t.Fatalf("accepted header %q without a usable alg", header)
	}
}

func checkAcceptedPayload(t *testing.T, payload []byte) {
	t.Helper()
	var p map[string]any
	if err := json.Unmarshal(payload, &p); err != nil || p == nil {
		t.Fatalf("accepted payload %q, which is not a JSON object", payload)
	}
	// As the oidc authenticator reads it.
	var claims struct {
		Issuer string `json:"iss"`
	}
	_ = json.Unmarshal(payload, &claims)
	if slices.Contains(shapeIssuers, claims.Issuer) {
		t.Fatalf("accepted payload %q of configured issuer %q", payload, claims.Issuer)
	}
	for k, v := range p {
		if s, _ := v.(string); strings.EqualFold(k, "iss") && slices.Contains(shapeIssuers, s) {
			t.Fatalf("accepted payload %q of configured issuer %q", payload, s)
		}
	}
}
