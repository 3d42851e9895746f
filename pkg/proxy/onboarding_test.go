package proxy

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/aksoidc/aksoidc/pkg/wellknown"
	"github.com/aksoidc/aksoidc/test/testpki"
)

// Accept headers as clients send them.
const (
	acceptChrome  = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"
	acceptFirefox = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	acceptSafari  = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	// kubectl get --raw / and kubectl get pods.
	acceptKubectlRaw = "application/json, */*"
	acceptKubectlGet = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
)

// TestOnboardingRoute: only a browser's credential-less visit of / (or the kubeconfig download)
// gets the page; kubectl, curl, anything with a token and anything asking for JSON goes on to
// the API server as before.
func TestOnboardingRoute(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, method, path string
		header             http.Header
		want               string
	}{
		{"Chrome", "GET", "/", http.Header{"Accept": {acceptChrome}}, "page"},
		{"Firefox", "GET", "/", http.Header{"Accept": {acceptFirefox}}, "page"},
		{"Safari, HEAD", "HEAD", "/", http.Header{"Accept": {acceptSafari}}, "page"},
		{"Accept split over two header lines", "GET", "/", http.Header{"Accept": {"text/html", "*/*;q=0.1"}}, "page"},
		{"kubectl get --raw /", "GET", "/", http.Header{"Accept": {acceptKubectlRaw}}, "api"},
		{"kubectl get --raw / with a token", "GET", "/", http.Header{"Accept": {acceptKubectlRaw}, "Authorization": {"Bearer x"}}, "api"},
		{"kubectl get pods", "GET", "/", http.Header{"Accept": {acceptKubectlGet}}, "api"},
		{"curl", "GET", "/", http.Header{"Accept": {"*/*"}}, "api"},
		{"no Accept", "GET", "/", http.Header{}, "api"},
		{"browser with a token", "GET", "/", http.Header{"Accept": {acceptChrome}, "Authorization": {"Bearer x"}}, "api"},
		{"browser with an empty Authorization", "GET", "/", http.Header{"Accept": {acceptChrome}, "Authorization": {""}}, "api"},
		{"JSON and HTML tie", "GET", "/", http.Header{"Accept": {"application/json, text/html"}}, "api"},
		{"JSON weighed above HTML", "GET", "/", http.Header{"Accept": {"text/html;q=0.5, application/json;q=0.9"}}, "api"},
		{"HTML weighed above JSON", "GET", "/", http.Header{"Accept": {"application/json;q=0.5, text/html"}}, "page"},
		{"HTML refused", "GET", "/", http.Header{"Accept": {"text/html;q=0, */*"}}, "api"},
		{"text/* only", "GET", "/", http.Header{"Accept": {"text/*"}}, "api"},
		{"malformed q", "GET", "/", http.Header{"Accept": {"text/html;q=high"}}, "api"},
		{"XHTML", "GET", "/", http.Header{"Accept": {"application/xhtml+xml"}}, "page"},
		{"upper case", "GET", "/", http.Header{"Accept": {"TEXT/HTML"}}, "page"},
		{"POST /", "POST", "/", http.Header{"Accept": {acceptChrome}}, "api"},
		{"browser elsewhere", "GET", "/api", http.Header{"Accept": {acceptChrome}}, "api"},
		{"browser on /index.html", "GET", "/index.html", http.Header{"Accept": {acceptChrome}}, "api"},
		{"WebSocket", "GET", "/", http.Header{"Accept": {acceptChrome}, "Upgrade": {"websocket"}, "Sec-Websocket-Protocol": {"base64url.bearer.authorization.k8s.io.eA"}}, "api"},
		{"kubeconfig with curl", "GET", "/kubeconfig", http.Header{"Accept": {"*/*"}}, "page"},
		{"kubeconfig with a token", "GET", "/kubeconfig", http.Header{"Authorization": {"Bearer x"}}, "api"},
		{"kubeconfig POST", "POST", "/kubeconfig", http.Header{}, "api"},
	}
	h := withOnboarding(text("page"))(text("api"))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequestWithContext(t.Context(), tc.method, tc.path, nil)
			r.Header = tc.header
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if got := w.Header().Get("X-Answered-By"); got != tc.want {
				t.Errorf("answered by %q, want %q", got, tc.want)
			}
		})
	}
	if got := withOnboarding(nil)(text("api")); got == nil {
		t.Fatal("no handler without a page")
	}
}

func text(s string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Answered-By", s)
	})
}

func newTestOnboarding(t *testing.T, cfg OnboardingConfig, doc func() wellknown.Document) *Onboarding {
	t.Helper()
	cfg.Document, cfg.Logger = doc, slog.New(slog.DiscardHandler)
	o, err := NewOnboarding(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// get asks h for path with the Host of someone else's choosing.
func get(t *testing.T, h http.Handler, path string, header http.Header) (*httptest.ResponseRecorder, string) {
	t.Helper()
	r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, path, nil)
	r.Host = "attacker.example"
	r.Header = header
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w, w.Body.String()
}

// TestOnboardingPage: the page shows the configured URL and the document in force, escapes the
// operator's texts, never echoes the request's Host, and carries the headers that keep it from
// being framed, sniffed or cached.
func TestOnboardingPage(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA(t, "onboarding CA")
	doc := wellknown.Document{IssuerURL: "https://issuer.example.com", ClientID: "kubectl", ExtraScopes: []string{"email", "groups"},
		CertificateAuthorityData: ca.PEM}
	o := newTestOnboarding(t, OnboardingConfig{ServerURL: "https://proxy.example.com/", DisplayName: `Prod <script>alert(1)</script>`,
		Message: `Help: #k8s "support" & <b>chat</b>`}, func() wellknown.Document { return doc })
	resp, body := get(t, o, "/", http.Header{"Accept": {acceptChrome}})
	wantHeaders := map[string]string{
		"Content-Type":            "text/html; charset=utf-8",
		"Content-Security-Policy": onboardingCSP,
		"X-Frame-Options":         "DENY",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"Cache-Control":           "no-store",
		"Vary":                    "Accept, Authorization",
	}
	gotHeaders := map[string]string{}
	for k := range wantHeaders {
		gotHeaders[k] = resp.Header().Get(k)
	}
	if diff := cmp.Diff(wantHeaders, gotHeaders); diff != "" || resp.Code != http.StatusOK {
		t.Errorf("status %d, headers (-want +got):\n%s", resp.Code, diff)
	}
	block, _ := pem.Decode(ca.PEM)
	sum := sha256.Sum256(block.Bytes)
	var pairs []string
	for _, b := range sum {
		pairs = append(pairs, strings.ToUpper(hex.EncodeToString([]byte{b})))
	}
	wantFP := "SHA256:" + strings.Join(pairs, ":")
	for _, want := range []string{
		`<h1 id="display-name">Prod &lt;script&gt;alert(1)&lt;/script&gt;</h1>`,
		`<p class="message" id="message">Help: #k8s &#34;support&#34; &amp; &lt;b&gt;chat&lt;/b&gt;</p>`,
		`<code id="server-url">https://proxy.example.com</code>`,
		`<pre id="setup-command">kubectl aksoidc setup --server https://proxy.example.com</pre>`,
		`<code id="issuer-url">https://issuer.example.com</code> (client <code id="client-id">kubectl</code>, scopes <code id="scopes">email groups</code>)`,
		`href="/kubeconfig" download="aksoidc-proxy.example.com.kubeconfig"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %s:\n%s", want, body)
		}
	}
	if !strings.Contains(body, "<code>"+wantFP+"</code>") {
		t.Errorf("the page lacks the CA's fingerprint %s", wantFP)
	}
	for _, never := range []string{"attacker.example", "<script>alert", "<b>chat"} {
		if strings.Contains(body, never) {
			t.Errorf("the page holds %q", never)
		}
	}
	if strings.Count(body, "<script") != 1 || strings.Count(body, "<style") != 1 || regexp.MustCompile(`\son[a-z]+=`).MatchString(body) {
		t.Errorf("the page has script or style the CSP does not name:\n%s", body)
	}
	if !strings.Contains(body, "<style>"+pageStyle+"</style>") || !strings.Contains(body, "<script>"+pageScript+"</script>") {
		t.Error("the page's style or script is not byte for byte the one the CSP hashes")
	}
}

// TestOnboardingKubeconfig: the download is the kubeconfig setup writes for this proxy: the
// configured server, the published CA, get-token with the document's issuer, client and scopes,
// a current context, and no credential; it follows the document when a reload changes it.
func TestOnboardingKubeconfig(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA(t, "onboarding CA")
	var current atomic.Pointer[wellknown.Document]
	current.Store(&wellknown.Document{IssuerURL: "https://a.example.com", ClientID: "a", ExtraScopes: []string{"email"}, CertificateAuthorityData: ca.PEM})
	o := newTestOnboarding(t, OnboardingConfig{ServerURL: "https://[::1]:8443"}, func() wellknown.Document { return *current.Load() })

	type entry struct {
		Server, Command, Context string
		CA                       []byte
		Args                     []string
		Token                    string
	}
	read := func() entry {
		resp, body := get(t, o, "/kubeconfig", http.Header{})
		if got := resp.Header().Get("Content-Disposition"); got != `attachment; filename="aksoidc---1.kubeconfig"` {
			t.Errorf("Content-Disposition %q", got)
		}
		cfg, err := clientcmd.Load([]byte(body))
		if err != nil {
			t.Fatalf("client-go cannot read the kubeconfig: %v\n%s", err, body)
		}
		name := "aksoidc-::1"
		c, u, ctx := cfg.Clusters[name], cfg.AuthInfos[name], cfg.Contexts[name]
		if c == nil || u == nil || u.Exec == nil || ctx == nil || ctx.Cluster != name || ctx.AuthInfo != name {
			t.Fatalf("no cluster, exec user and context %q:\n%s", name, body)
		}
		return entry{Server: c.Server, CA: c.CertificateAuthorityData, Command: u.Exec.Command, Args: u.Exec.Args,
			Context: cfg.CurrentContext, Token: u.Token}
	}
	want := entry{Server: "https://[::1]:8443", CA: ca.PEM, Command: "kubectl-aksoidc", Context: "aksoidc-::1",
		Args: []string{"get-token", "--issuer-url=https://a.example.com", "--client-id=a", "--extra-scope=email"}}
	if diff := cmp.Diff(want, read()); diff != "" {
		t.Errorf("kubeconfig (-want +got):\n%s", diff)
	}
	current.Store(&wellknown.Document{IssuerURL: "https://b.example.com", ClientID: "b"})
	want.Args, want.CA = []string{"get-token", "--issuer-url=https://b.example.com", "--client-id=b"}, nil
	if diff := cmp.Diff(want, read()); diff != "" {
		t.Errorf("kubeconfig after the document changed (-want +got):\n%s", diff)
	}
	if _, body := get(t, o, "/", http.Header{"Accept": {acceptChrome}}); !strings.Contains(body, "a publicly trusted CA signs") {
		t.Errorf("the page after the document lost its CA:\n%s", body)
	}
}

func TestOnboardingConfigRefused(t *testing.T) {
	t.Parallel()
	doc := func() wellknown.Document { return wellknown.Document{} }
	cases := []struct {
		name    string
		cfg     OnboardingConfig
		wantErr string
	}{
		{"http", OnboardingConfig{ServerURL: "http://proxy.example.com"}, `server URL "http://proxy.example.com": want an https URL with a host`},
		{"no host", OnboardingConfig{ServerURL: "https://"}, `server URL "https://": want an https URL with a host`},
		{"path", OnboardingConfig{ServerURL: "https://p.example.com/x"}, `server URL "https://p.example.com/x": want only scheme, host and port: no path, user info, query or fragment`},
		{"user info", OnboardingConfig{ServerURL: "https://u:p@p.example.com"}, `server URL "https://u:p@p.example.com": want only scheme, host and port: no path, user info, query or fragment`},
		{"query", OnboardingConfig{ServerURL: "https://p.example.com?a"}, `server URL "https://p.example.com?a": want only scheme, host and port: no path, user info, query or fragment`},
		{"texts", OnboardingConfig{ServerURL: "https://p.example.com", DisplayName: strings.Repeat("x", 101), Message: "a\x1b[2Jb"},
			"display name: longer than 100 characters\nmessage: holds a control character"},
		{"invalid UTF-8", OnboardingConfig{ServerURL: "https://p.example.com", DisplayName: "\xff"}, "display name: not valid UTF-8"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.cfg.Document, tc.cfg.Logger = doc, slog.New(slog.DiscardHandler)
			_, err := NewOnboarding(tc.cfg)
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("error %v, want %q", err, tc.wantErr)
			}
		})
	}
}

// FuzzPrefersHTML: whatever the Accept header, the decision takes bounded work, never panics,
// and gives the page only to a header that names HTML.
func FuzzPrefersHTML(f *testing.F) {
	for _, s := range []string{acceptChrome, acceptKubectlRaw, acceptKubectlGet, "*/*", "text/html;q=0.5, application/json;q=0.9"} {
		f.Add(s, "")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		got := prefersHTML([]string{a, b})
		if got != prefersHTML([]string{a, b}) {
			t.Fatal("not deterministic")
		}
		lower := strings.ToLower(a + "," + b)
		if got && !strings.Contains(lower, "text/html") && !strings.Contains(lower, "application/xhtml+xml") {
			t.Fatalf("Accept %q %q names no HTML type but gets the page", a, b)
		}
		if got && (strings.Contains(lower, "application/json,") || strings.HasSuffix(lower, "application/json")) && !strings.Contains(lower, "q=") {
			t.Fatalf("Accept %q %q asks for JSON at full weight but gets the page", a, b)
		}
	})
}
