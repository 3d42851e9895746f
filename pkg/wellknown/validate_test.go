package wellknown

import (
	"encoding/json"
	"encoding/pem"
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/aksoidc/aksoidc/test/testpki"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA(t, "proxy CA")
	key := ca.Issue(t, "proxy").KeyPEM
	good := Document{IssuerURL: "https://dex.example/dex", ClientID: "kubectl", ExtraScopes: []string{"groups"}}
	with := func(f func(*Document)) Document {
		d := good
		f(&d)
		return d
	}
	cases := []struct {
		name string
		doc  Document
		want string // empty: accepted
	}{
		{"minimal", good, ""},
		{"CA bundle with text around the blocks", with(func(d *Document) {
			d.CertificateAuthorityData = append(append([]byte("# proxy CA\n"), ca.PEM...), ca.PEM...)
		}), ""},
		{"http on 127.0.0.1", with(func(d *Document) { d.IssuerURL = "http://127.0.0.1:5556/dex" }), ""},
		{"http on ::1", with(func(d *Document) { d.IssuerURL = "http://[::1]:5556" }), ""},
		{"http on localhost", with(func(d *Document) { d.IssuerURL = "http://localhost:5556" }), ""},
		{"commas and JSON-ish scope characters", with(func(d *Document) { d.ExtraScopes = []string{"a,b", "{x}", "api://x/.default"} }), ""},
		{"http elsewhere", with(func(d *Document) { d.IssuerURL = "http://dex.example" }),
			`issuerURL "http://dex.example": plain http is allowed only for a loopback host; use https`},
		{"relative", with(func(d *Document) { d.IssuerURL = "dex.example/dex" }), `issuerURL "dex.example/dex": not an absolute https URL`},
		{"other scheme", with(func(d *Document) { d.IssuerURL = "file:///etc/passwd" }), `issuerURL "file:///etc/passwd": not an absolute https URL`},
		{"user info", with(func(d *Document) { d.IssuerURL = "https://u:p@dex.example" }), `issuerURL "https://u:p@dex.example": must not hold user info`},
		{"query", with(func(d *Document) { d.IssuerURL = "https://dex.example/?a=b" }), `issuerURL "https://dex.example/?a=b": must not hold a query`},
		{"empty query", with(func(d *Document) { d.IssuerURL = "https://dex.example/?" }), `issuerURL "https://dex.example/?": must not hold a query`},
		{"fragment", with(func(d *Document) { d.IssuerURL = "https://dex.example/#x" }), `issuerURL "https://dex.example/#x": must not hold a fragment`},
		{"space", with(func(d *Document) { d.IssuerURL = "https://dex.example/a b" }),
			`issuerURL "https://dex.example/a b": only printable ASCII without space is allowed`},
		{"escape sequence", with(func(d *Document) { d.IssuerURL = "https://dex.example/\x1b[2J" }),
			`issuerURL "https://dex.example/\x1b[2J": only printable ASCII without space is allowed`},
		{"no issuer", with(func(d *Document) { d.IssuerURL = "" }), "issuerURL is empty"},
		{"long issuer", with(func(d *Document) { d.IssuerURL = "https://dex.example/" + strings.Repeat("a", 2048) }),
			"issuerURL: longer than 2048 bytes"},
		{"no client ID", with(func(d *Document) { d.ClientID = "" }), "clientID is empty"},
		{"client ID like a flag", with(func(d *Document) { d.ClientID = "--browser-command=sh" }),
			`clientID "--browser-command=sh": must not start with '-'`},
		{"client ID with a tab", with(func(d *Document) { d.ClientID = "x\t" }),
			`clientID "x\t": byte 1 (0x09) is not allowed in an RFC 6749 scope token`},
		{"client ID with a space", with(func(d *Document) { d.ClientID = "x --browser-command=sh" }),
			`clientID "x --browser-command=sh": byte 1 (' ') is not allowed in an RFC 6749 scope token`},
		{"scope with a quote", with(func(d *Document) { d.ExtraScopes = []string{"groups", `a"b`} }),
			`extraScopes[1] "a\"b": byte 1 ('"') is not allowed in an RFC 6749 scope token`},
		{"scope with a backslash", with(func(d *Document) { d.ExtraScopes = []string{`a\b`} }),
			`extraScopes[0] "a\\b": byte 1 ('\\') is not allowed in an RFC 6749 scope token`},
		{"non-ASCII scope", with(func(d *Document) { d.ExtraScopes = []string{"grüppe"} }),
			`extraScopes[0] "grüppe": byte 2 (0xc3) is not allowed in an RFC 6749 scope token`},
		{"empty scope", with(func(d *Document) { d.ExtraScopes = []string{""} }), "extraScopes[0] is empty"},
		{"long scope", with(func(d *Document) { d.ExtraScopes = []string{strings.Repeat("s", 257)} }),
			"extraScopes[0] is longer than 256 bytes"},
		{"too many scopes", with(func(d *Document) { d.ExtraScopes = strings.Split(strings.Repeat("s,", 64)+"s", ",") }),
			"extraScopes: 65 scopes, more than 64"},
		{"claims any configuration may name", with(func(d *Document) {
			d.Claims = []string{"email", "https://example.com/groups", "grüppe", "a b", `"x"`}
		}), ""},
		{"empty claim", with(func(d *Document) { d.Claims = []string{"email", ""} }), "claims[1] is empty"},
		{"claim with an escape sequence", with(func(d *Document) { d.Claims = []string{"e\x1b[2J"} }),
			`claims[0] "e\x1b[2J": holds a control character`},
		{"claim with a C1 control", with(func(d *Document) { d.Claims = []string{"e\u009b31m"} }),
			`claims[0] "e\u009b31m": holds a control character`},
		{"claim not UTF-8", with(func(d *Document) { d.Claims = []string{"e\xff"} }), `claims[0] "e\xff": not UTF-8`},
		{"long claim", with(func(d *Document) { d.Claims = []string{strings.Repeat("c", 257)} }), "claims[0] is longer than 256 bytes"},
		{"too many claims", with(func(d *Document) { d.Claims = strings.Split(strings.Repeat("c,", 64)+"c", ",") }),
			"claims: 65 claims, more than 64"},
		{"CA not PEM", with(func(d *Document) { d.CertificateAuthorityData = []byte("not a certificate") }),
			"certificateAuthorityData: holds no PEM certificate"},
		{"CA with a private key", with(func(d *Document) { d.CertificateAuthorityData = append(append([]byte{}, ca.PEM...), key...) }),
			`certificateAuthorityData: PEM block 2 is a "PRIVATE KEY", want CERTIFICATE`},
		{"CA block that does not parse", with(func(d *Document) {
			d.CertificateAuthorityData = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("junk")})
		}), "certificateAuthorityData: PEM block 1: x509: malformed certificate"},
		{"every problem at once", Document{IssuerURL: "http://dex.example", ClientID: "-c", ExtraScopes: []string{"a b"},
			CertificateAuthorityData: []byte("x")},
			`issuerURL "http://dex.example": plain http is allowed only for a loopback host; use https; ` +
				`clientID "-c": must not start with '-'; ` +
				`extraScopes[0] "a b": byte 1 (' ') is not allowed in an RFC 6749 scope token; ` +
				"certificateAuthorityData: holds no PEM certificate"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := ""
			if err := tc.doc.Validate(); err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Validate error (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzDocumentValidate checks that Validate never panics and that whatever it
// accepts survives the trip through JSON that the proxy and setup make and
// keeps the rules, checked here independently of the code under test.
func FuzzDocumentValidate(f *testing.F) {
	f.Add("https://dex.example/dex", "kubectl", "groups", "email", []byte(nil))
	f.Fuzz(func(t *testing.T, issuer, clientID, scope1, scope2 string, ca []byte) {
		d := Document{IssuerURL: issuer, ClientID: clientID, ExtraScopes: []string{scope1, scope2}, CertificateAuthorityData: ca}
		if d.Validate() != nil {
			return
		}
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatalf("marshal an accepted document: %v", err)
		}
		var back Document
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("unmarshal %s: %v", b, err)
		}
		if diff := cmp.Diff(d, back, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("JSON round trip (-sent +received):\n%s", diff)
		}
		if err := back.Validate(); err != nil {
			t.Fatalf("the received document is refused: %v", err)
		}
		checkIssuerRules(t, back.IssuerURL)
		for _, s := range append([]string{back.ClientID}, back.ExtraScopes...) {
			checkTokenRules(t, s)
		}
		if len(ca) > 0 {
			if b, _ := pem.Decode(ca); b == nil || b.Type != "CERTIFICATE" {
				t.Fatalf("accepted CA data %q without a CERTIFICATE block first", ca)
			}
		}
	})
}

func checkIssuerRules(t *testing.T, issuer string) {
	t.Helper()
	u, err := url.Parse(issuer)
	if err != nil {
		t.Fatalf("accepted issuer %q does not parse: %v", issuer, err)
	}
	ip := net.ParseIP(u.Hostname())
	loopback := strings.EqualFold(u.Hostname(), "localhost") || ip != nil && ip.IsLoopback()
	allowedScheme := u.Scheme == "https" || u.Scheme == "http" && loopback
	if !allowedScheme || u.Host == "" || u.User != nil || strings.ContainsAny(issuer, "?# \t\r\n") {
		t.Fatalf("accepted issuer %q breaks the rules", issuer)
	}
}

func checkTokenRules(t *testing.T, s string) {
	t.Helper()
	if s == "" || len(s) > 256 || strings.HasPrefix(s, "-") || strings.ContainsAny(s, " \"\\") {
		t.Fatalf("accepted token %q breaks the rules", s)
	}
	for _, r := range s {
		if r < 0x21 || r > 0x7e {
			t.Fatalf("accepted token %q holds %q", s, r)
		}
	}
}

func TestIsLoopbackHost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		host string
		want bool
	}{
		{"localhost", true},
		{"LocalHost", true},
		{"127.0.0.1", true},
		{"127.9.9.9", true},
		{"::1", true},
		{"localhost.example", false},
		{"10.0.0.1", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := IsLoopbackHost(tt.host); got != tt.want {
			t.Errorf("IsLoopbackHost(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
}
