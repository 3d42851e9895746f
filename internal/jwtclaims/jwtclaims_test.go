package jwtclaims

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func seg(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestDecode(t *testing.T) {
	t.Parallel()
	head := seg(`{"alg":"RS256"}`)
	type claims struct {
		Sub    string   `json:"sub"`
		Groups []string `json:"groups"`
		Exp    int64    `json:"exp"`
	}
	tests := []struct {
		name    string
		token   string
		want    claims
		wantErr string
	}{
		{name: "claims", token: head + "." + seg(`{"sub":"alice","groups":["ops"],"exp":1700000000}`) + ".c2ln",
			want: claims{Sub: "alice", Groups: []string{"ops"}, Exp: 1700000000}},
		{name: "two parts", token: head + "." + seg(`{}`), wantErr: "token has 2 dot-separated parts, a JWT has 3"},
		{name: "four parts", token: "a.b.c.d", wantErr: "token has 4 dot-separated parts, a JWT has 3"},
		{name: "empty signature", token: head + "." + seg(`{}`) + ".", wantErr: "JWT part 3: empty"},
		{name: "padded payload", token: head + "." + base64.URLEncoding.EncodeToString([]byte(`{"a":1}`)) + ".c2ln",
			wantErr: "JWT part 2: not unpadded base64url"},
		{name: "standard alphabet", token: head + ".+/+/.c2ln", wantErr: "JWT part 2: not unpadded base64url"},
		{name: "CR LF inside", token: head + ".e30\r\n.c2ln", wantErr: "JWT part 2: not unpadded base64url"},
		{name: "payload an array", token: head + "." + seg(`["x"]`) + ".c2ln", wantErr: "JWT payload is not a JSON object"},
		{name: "payload not JSON", token: head + "." + seg(`secret-part`) + ".c2ln", wantErr: "JWT payload is not a JSON object"},
		{name: "claim of the wrong type", token: head + "." + seg(`{"sub":["secret"]}`) + ".c2ln", wantErr: "JWT payload: a claim has an unexpected type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got claims
			err := Decode(tt.token, &got)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if diff := cmp.Diff(tt.wantErr, gotErr); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, got); err == nil && diff != "" {
				t.Errorf("claims (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzDecode (seeds in testdata/fuzz) checks that Decode never panics, that what it accepts is
// three unpadded base64url parts, and that no error quotes the token.
func FuzzDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, token string) {
		var m map[string]any
		err := Decode(token, &m)
		if err != nil {
			for _, part := range strings.Split(token, ".") {
				if len(part) > 3 && strings.Contains(err.Error(), part) {
					t.Fatalf("error %q quotes the token", err)
				}
			}
			return
		}
		parts := strings.Split(token, ".")
		if len(parts) != 3 {
			t.Fatalf("accepted a token of %d parts", len(parts))
		}
		for i, p := range parts {
			if _, err := base64.RawURLEncoding.DecodeString(p); p == "" || err != nil || strings.ContainsAny(p, "\r\n=+/") {
				t.Fatalf("accepted part %d %q, which is not unpadded base64url", i+1, p)
			}
		}
		if m == nil {
			t.Fatalf("accepted a payload that is not a JSON object")
		}
	})
}
