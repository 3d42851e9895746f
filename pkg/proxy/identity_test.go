package proxy_test

import (
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/client-go/rest"

	"github.com/aksoidc/aksoidc/pkg/proxy"
	"github.com/aksoidc/aksoidc/pkg/proxy/authn"
	"github.com/aksoidc/aksoidc/test/oidctest"
	"github.com/aksoidc/aksoidc/test/poll"
	"github.com/aksoidc/aksoidc/test/syncbuf"
)

// impersonationReader stands in for kube-apiserver where the test must know exactly whom it
// would see: it runs k8s.io/apiserver's own impersonation filter (proxy.ReadByAPIServer) on
// what arrives, over HTTP/2 or HTTP/1.1 as the proxy chose, and records the resulting user.
type impersonationReader struct {
	*httptest.Server
	mu  sync.Mutex
	got []readIdentity
}

type readIdentity struct {
	Proto string
	User  *user.DefaultInfo
}

func newImpersonationReader(t *testing.T) *impersonationReader {
	t.Helper()
	u := &impersonationReader{}
	u.Server = httptest.NewUnstartedServer(proxy.ReadByAPIServer(func(w http.ResponseWriter, r *http.Request, who *user.DefaultInfo) {
		u.mu.Lock()
		u.got = append(u.got, readIdentity{Proto: r.Proto, User: who})
		u.mu.Unlock()
		_, _ = w.Write([]byte(`{"kind":"PodList","apiVersion":"v1","items":[]}`))
	}))
	u.EnableHTTP2 = true
	u.StartTLS()
	t.Cleanup(u.Close)
	return u
}

func (u *impersonationReader) take() []readIdentity {
	u.mu.Lock()
	defer u.mu.Unlock()
	got := u.got
	u.got = nil
	return got
}

// unprefixedProxy maps every claim as it is (no prefixes), the configuration in which a
// claim's bytes reach the impersonation headers unchanged.
func unprefixedProxy(t *testing.T, up *impersonationReader) (*oidctest.Issuer, *httptest.Server, *syncbuf.Buffer) {
	t.Helper()
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: up.Certificate().Raw})
	upstream := &rest.Config{Host: up.URL, BearerToken: "proxy", TLSClientConfig: rest.TLSClientConfig{CAData: caPEM}}
	iss := oidctest.New(t)
	src, err := authn.Parse([]byte(oidctest.AuthenticationConfiguration(iss.JWTAuthenticator([]string{"kubernetes"},
		"  claimMappings:\n"+
			"    username: {claim: sub, prefix: \"\"}\n"+
			"    groups: {claim: groups, prefix: \"\"}\n"+
			"    uid: {expression: \"has(claims.uid) ? claims.uid : ''\"}\n"+
			"    extra:\n"+
			"    - key: example.com/team\n"+
			"      valueExpression: \"has(claims.team) ? claims.team : []\"\n"))))
	if err != nil {
		t.Fatal(err)
	}
	a, err := authn.New(t.Context(), authn.Options{Source: src})
	if err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 20*time.Second, func() bool { return a.Ready(t.Context()) == nil })
	logs := &syncbuf.Buffer{}
	h, err := proxy.NewHandler(proxy.Config{Authenticator: a, Upstream: upstream,
		Logger: slog.New(slog.NewJSONHandler(logs, nil)), Metrics: proxy.NewMetrics()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return iss, srv, logs
}

// transports are the two ways the proxy reaches the API server: HTTP/2 for ordinary requests,
// HTTP/1.1 for anything asking for an upgrade (which HTTP/2 cannot carry).
var transports = []struct {
	name    string
	header  http.Header
	proto   string
	clientH bool // the client must speak HTTP/1.1 to send Connection: Upgrade
}{
	{"HTTP/2", nil, "HTTP/2.0", false},
	{"HTTP/1.1 upgrade", http.Header{"Connection": {"Upgrade"}, "Upgrade": {"x"}}, "HTTP/1.1", true},
}

func send(t *testing.T, srv *httptest.Server, http1 bool, token string, header http.Header) int {
	t.Helper()
	client := srv.Client()
	if http1 {
		caPool := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
		client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: caPool, MinVersion: tls.VersionTLS12},
			TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}}}
		t.Cleanup(client.CloseIdleConnections)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/api/v1/pods", nil)
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

type identityClaims struct {
	sub, uid     string
	groups, team []string
}

func (c identityClaims) sign(t *testing.T, iss *oidctest.Issuer) string {
	claims := iss.Claims(c.sub, "kubernetes", time.Hour)
	claims["groups"] = c.groups
	if c.uid != "" {
		claims["uid"] = c.uid
	}
	if c.team != nil {
		claims["team"] = c.team
	}
	return iss.Sign(t, claims)
}

func (c identityClaims) want(proto string) readIdentity {
	extra := map[string][]string{"aksoidc.io/client-ip": {"127.0.0.1"}}
	if len(c.team) > 0 {
		extra["example.com/team"] = c.team
	}
	// The API server adds system:authenticated to anyone impersonated with groups.
	return readIdentity{Proto: proto, User: &user.DefaultInfo{Name: c.sub, UID: c.uid,
		Groups: append(append([]string{}, c.groups...), user.AllAuthenticated), Extra: extra}}
}

// TestAcceptedIdentitiesArriveByteForByte: for every identity the proxy accepts, what
// kube-apiserver's impersonation filter reads, over either upstream transport, is exactly that
// identity.
func TestAcceptedIdentitiesArriveByteForByte(t *testing.T) {
	up := newImpersonationReader(t)
	iss, srv, _ := unprefixedProxy(t, up)
	tests := []struct {
		name   string
		claims identityClaims
	}{
		{"plain", identityClaims{sub: "alice", groups: []string{"devs"}}},
		{"inner white space, commas and colons", identityClaims{sub: "Alice Smith", groups: []string{"a, b", "team:ops", "x;y=z"}}},
		{"non-ASCII", identityClaims{sub: "zoë@example.com", groups: []string{"équipe", "チーム", "😀"}}},
		{"uid and extras with inner white space and commas", identityClaims{sub: "alice", uid: "0a1b-2c", groups: []string{"devs"}, team: []string{"red, blue", "green team"}}},
		{"repeated groups keep their order", identityClaims{sub: "bob", groups: []string{"b", "a", "b"}}},
		{"prefix-like values that are not system:", identityClaims{sub: "systemadmin", groups: []string{"System:masters", "oidc:system:masters"}}},
		{"percent signs and quotes", identityClaims{sub: `"%41"`, groups: []string{"100%", `\`}}},
	}
	for _, tr := range transports {
		for _, tt := range tests {
			t.Run(tr.name+"/"+tt.name, func(t *testing.T) {
				if code := send(t, srv, tr.clientH, tt.claims.sign(t, iss), tr.header); code != http.StatusOK {
					t.Fatalf("status %d, want 200", code)
				}
				want := []readIdentity{tt.claims.want(tr.proto)}
				if diff := cmp.Diff(want, up.take(), cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("identity read by the API server's impersonation filter (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// TestIdentitiesThatWouldChangeOnTheWireAreRefused: the attacks of issue 8 (white space that a
// header writer trims into system:masters, identities that merge, an empty username) and the
// values no header carries are refused with 401 before anything is forwarded, over both
// transports, with reason invalid_identity in the log.
func TestIdentitiesThatWouldChangeOnTheWireAreRefused(t *testing.T) {
	up := newImpersonationReader(t)
	iss, srv, logs := unprefixedProxy(t, up)
	tests := []struct {
		name   string
		claims identityClaims
		reason string
	}{
		{"leading space before system:masters", identityClaims{sub: "alice", groups: []string{" system:masters"}}, "invalid_identity"},
		{"leading tab before a system: username", identityClaims{sub: "\tsystem:kube-controller-manager"}, "invalid_identity"},
		{"trailing space merges two groups", identityClaims{sub: "alice", groups: []string{"admins "}}, "invalid_identity"},
		{"empty username", identityClaims{sub: ""}, "invalid_identity"},
		{"non-breaking space at the end", identityClaims{sub: "alice\u00a0"}, "invalid_identity"},
		{"newline inside a group", identityClaims{sub: "alice", groups: []string{"a\nImpersonate-Group: system:masters"}}, "invalid_identity"},
		{"NUL", identityClaims{sub: "al\x00ice"}, "invalid_identity"},
		{"DEL", identityClaims{sub: "alice", groups: []string{"a\x7f"}}, "invalid_identity"},
		{"C1 control (NEL)", identityClaims{sub: "alice", groups: []string{"a\u0085b"}}, "invalid_identity"},
		{"escape sequence", identityClaims{sub: "alice\x1b[2J"}, "invalid_identity"},
		{"overlong group", identityClaims{sub: "alice", groups: []string{strings.Repeat("g", authn.MaxIdentityValueBytes+1)}}, "invalid_identity"},
		{"too many groups", identityClaims{sub: "alice", groups: manyGroups(authn.MaxGroups + 1)}, "invalid_identity"},
		{"empty group", identityClaims{sub: "alice", groups: []string{""}}, "invalid_identity"},
		{"white space around an extra value", identityClaims{sub: "alice", team: []string{" red"}}, "invalid_identity"},
		{"system:masters without white space is still reserved", identityClaims{sub: "alice", groups: []string{"system:masters"}}, "reserved_identity"},
	}
	for _, tr := range transports {
		for _, tt := range tests {
			t.Run(tr.name+"/"+tt.name, func(t *testing.T) {
				before := strings.Count(logs.String(), `"reason":"`+tt.reason+`"`)
				if code := send(t, srv, tr.clientH, tt.claims.sign(t, iss), tr.header); code != http.StatusUnauthorized {
					t.Errorf("status %d, want 401", code)
				}
				if got := up.take(); len(got) != 0 {
					t.Errorf("forwarded as %+v, want nothing forwarded", got[0].User)
				}
				// One line from authentication, one access-log line.
				if after := strings.Count(logs.String(), `"reason":"`+tt.reason+`"`); after != before+2 {
					t.Errorf("log lines with reason %s: %d -> %d, want 2 more", tt.reason, before, after)
				}
			})
		}
	}
}

func manyGroups(n int) []string {
	g := make([]string, n)
	for i := range g {
		g[i] = "g" + strings.Repeat("x", i%7) + string(rune('a'+i%26))
	}
	return g
}

// TestAccessLogNamesTheRefusal: the access-log line of a refused request carries its reason.
func TestAccessLogNamesTheRefusal(t *testing.T) {
	up := newImpersonationReader(t)
	iss, srv, logs := unprefixedProxy(t, up)
	send(t, srv, false, identityClaims{sub: "alice", groups: []string{" system:masters"}}.sign(t, iss), nil)
	var line struct {
		Msg    string
		Status int
		Reason string
	}
	for l := range strings.Lines(logs.String()) {
		if json.Unmarshal([]byte(l), &line) == nil && line.Msg == "request" {
			break
		}
	}
	want := struct {
		Msg    string
		Status int
		Reason string
	}{"request", http.StatusUnauthorized, "invalid_identity"}
	if diff := cmp.Diff(want, line); diff != "" {
		t.Errorf("access log line (-want +got):\n%s", diff)
	}
}
