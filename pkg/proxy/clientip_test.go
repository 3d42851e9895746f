package proxy

import (
	"net/http"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	tests := []struct {
		name    string
		remote  string
		xff     []string
		trusted []netip.Prefix
		want    string
	}{
		{"untrusted peer: its own address, X-Forwarded-For ignored", "127.0.0.1:5555", []string{"10.9.9.9"}, nil, "127.0.0.1"},
		{"trusted peer: the last hop it saw", "127.0.0.1:5555", []string{"10.0.0.1, 10.9.9.9"}, trusted, "10.9.9.9"},
		{"trusted chain: the right-most untrusted hop", "[::1]:5555", []string{"10.9.9.9", "127.0.0.2"}, trusted, "10.9.9.9"},
		{"trusted peer without the header", "[::1]:5555", nil, trusted, "::1"},
		{"malformed hop ends the chain", "127.0.0.1:5555", []string{"10.9.9.9, bogus"}, trusted, "127.0.0.1"},
		{"IPv4-mapped IPv6 peer", "[::ffff:127.0.0.1]:5555", nil, nil, "127.0.0.1"},
		{"a zone in X-Forwarded-For is dropped, escape codes and all", "127.0.0.1:5555", []string{"fe80::1%\x1b[31m,x"}, trusted, "127.0.0.1"},
		{"a zone in a single hop is dropped", "127.0.0.1:5555", []string{"fe80::1%\x1b[31m"}, trusted, "fe80::1"},
		{"a peer that is not an IP address: none", "@", nil, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &http.Request{RemoteAddr: tt.remote, Header: http.Header{}}
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if diff := cmp.Diff(tt.want, clientIP(r, tt.trusted)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestExtraKeyEscape(t *testing.T) {
	tests := []struct{ key, want string }{
		{"aksoidc.io/client-ip", "aksoidc.io%2Fclient-ip"},
		{"Example.COM/Team", "example.com%2Fteam"},
		{"100%", "100%25"},
		{"a b", "a%20b"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, extraKeyEscape(tt.key)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzClientIP: whatever a client puts in X-Forwarded-For, the client IP is "" or a canonical
// IP address, so the client-ip extra never carries anything else upstream.
func FuzzClientIP(f *testing.F) {
	trusted := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	f.Fuzz(func(t *testing.T, remote, xff string) {
		r := &http.Request{RemoteAddr: remote, Header: http.Header{"X-Forwarded-For": {xff}}}
		got := clientIP(r, trusted)
		if got == "" {
			return
		}
		addr, err := netip.ParseAddr(got)
		if err != nil || addr.String() != got || addr.Zone() != "" {
			t.Fatalf("clientIP(%q, %q) = %q: not a canonical IP address without a zone", remote, xff, got)
		}
	})
}
