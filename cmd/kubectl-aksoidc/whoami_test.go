package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"github.com/aksoidc/aksoidc/pkg/tokencache"
	"github.com/google/go-cmp/cmp"
)

// whoami shows the identity provider's claims; an escape sequence in one
// must be shown, not obeyed by the terminal.
func TestPrintIdentityEscapesClaims(t *testing.T) {
	t.Parallel()
	claims, err := json.Marshal(map[string]any{
		"iss": "https://i\x1b]8;;https://evil.example\a", "sub": "bob\x1b[2J\x1b[H", "name": "Bob\u202eevil",
		"email": "bob@example.com\r\nExpiry:  never", "groups": []string{"ops\x07", "dev\u009b"}, "exp": 1700000000,
	})
	if err != nil {
		t.Fatal(err)
	}
	tok := "e30." + base64.RawURLEncoding.EncodeToString(claims) + ".c2ln"
	var b bytes.Buffer
	if err := printIdentity(&b, tokencache.Entry{IDToken: tok}, time.Unix(1700000001, 0)); err != nil {
		t.Fatal(err)
	}
	want := `Issuer:  https://i\x1b]8;;https://evil.example\a` + "\n" +
		`Subject: bob\x1b[2J\x1b[H` + "\n" +
		`Name:    Bob\u202eevil` + "\n" +
		`Email:   bob@example.com\r\nExpiry:  never` + "\n" +
		`Groups:  ops\a, dev\u009b` + "\n" +
		"Expiry:  2023-11-14T22:13:20Z (expired; get-token refreshes it)\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
