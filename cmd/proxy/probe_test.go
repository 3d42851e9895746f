package main

import (
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/aksoidc/aksoidc/pkg/wellknown"
	"github.com/aksoidc/aksoidc/test/oidctest"
	"github.com/aksoidc/aksoidc/test/poll"
	"github.com/aksoidc/aksoidc/test/testpki"
)

// fakeAPIServer answers /readyz as told and everything else with an empty list. Stopping a
// real API server in the middle of a test would take the other tests' cluster with it.
func fakeAPIServer(t *testing.T, healthy *atomic.Bool) string {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" && !healthy.Load() {
			http.Error(w, "etcd failed", http.StatusServiceUnavailable)
			return
		}
		if r.URL.Query().Get("watch") == "true" {
			w.WriteHeader(http.StatusOK)
			_ = http.NewResponseController(w).Flush()
			<-r.Context().Done()
			return
		}
		_, _ = io.WriteString(w, `{"kind":"PodList","apiVersion":"v1","items":[]}`)
	}))
	t.Cleanup(srv.Close)
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["fake"] = &clientcmdapi.Cluster{Server: srv.URL, CertificateAuthorityData: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})}
	cfg.AuthInfos["proxy"] = &clientcmdapi.AuthInfo{Token: "proxy-credential"}
	cfg.Contexts["fake"] = &clientcmdapi.Context{Cluster: "fake", AuthInfo: "proxy"}
	cfg.CurrentContext = "fake"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReadinessFollowsTheAPIServer(t *testing.T) {
	var healthy atomic.Bool
	healthy.Store(true)
	iss := oidctest.New(t)
	p := startProxy(t, fakeAPIServer(t, &healthy), oidcFlags(iss, "oidc:")...)
	var got []int
	for _, up := range []bool{false, true, false} {
		healthy.Store(up)
		want := http.StatusServiceUnavailable
		if up {
			want = http.StatusOK
		}
		poll.Until(t, 10*time.Second, func() bool { return p.probe(t, "/readyz") == want })
		got = append(got, p.probe(t, "/readyz"), p.probe(t, "/healthz"))
	}
	want := []int{503, 200, 200, 200, 503, 200}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("readyz, healthz after down, up, down (-want +got):\n%s", diff)
	}
}

// TestReadinessSurvivesAnIssuerOutage: once the issuer's keys are loaded, the issuer going down
// leaves the proxy ready (tokens keep verifying with the keys held); /readyz?verbose and the
// issuer metrics tell the outage, and both recover with the issuer.
func TestReadinessSurvivesAnIssuerOutage(t *testing.T) {
	var healthy atomic.Bool
	healthy.Store(true)
	iss := oidctest.New(t)
	p := startProxy(t, fakeAPIServer(t, &healthy), oidcFlags(iss, "oidc:")...)
	up := `aksoidc_proxy_issuer_up{issuer="` + iss.URL + `"}`
	poll.Until(t, 10*time.Second, func() bool { return p.metric(t, up) == 1 })
	token := aliceToken(t, iss, nil)

	iss.SetDown(true)
	poll.Until(t, 10*time.Second, func() bool { return strings.Contains(p.probeBody(t, "/readyz?verbose"), "[-]issuer "+iss.URL) })
	wantDown := "[+]authenticator ok\n[+]api-server ok\n[-]issuer " + iss.URL + " failed: discovery: GET " + iss.URL +
		"/.well-known/openid-configuration: 503 Service Unavailable (informational)\nreadyz check passed\n"
	if diff := cmp.Diff(wantDown, p.probeBody(t, "/readyz?verbose")); diff != "" {
		t.Errorf("/readyz?verbose with the issuer down (-want +got):\n%s", diff)
	}
	got := []int{p.probe(t, "/readyz"), status(t, p, http.Header{"Authorization": {"Bearer " + token}}),
		status(t, p, http.Header{"Authorization": {"Bearer " + aliceToken(t, iss, nil)}})}
	if diff := cmp.Diff([]int{200, 200, 200}, got); diff != "" {
		t.Errorf("readyz, a known token, a new token, with the issuer down (-want +got):\n%s", diff)
	}
	if v := p.metric(t, up); v != 0 {
		t.Errorf("%s = %v with the issuer down, want 0", up, v)
	}

	iss.SetDown(false)
	poll.Until(t, 10*time.Second, func() bool { return p.metric(t, up) == 1 })
	if got := p.probeBody(t, "/readyz?verbose"); !strings.HasSuffix(got, "[+]issuer "+iss.URL+" ok (informational)\nreadyz check passed\n") {
		t.Errorf("/readyz?verbose after the issuer is back:\n%s", got)
	}
}

func TestMetrics(t *testing.T) {
	var healthy atomic.Bool
	healthy.Store(true)
	iss := oidctest.New(t)
	p := startProxy(t, fakeAPIServer(t, &healthy), oidcFlags(iss, "oidc:")...)
	alice := "Bearer " + aliceToken(t, iss, nil)
	status(t, p, http.Header{"Authorization": {alice}})
	status(t, p, http.Header{"Authorization": {alice}})
	status(t, p, http.Header{"Authorization": {"Bearer not-a-jwt"}})
	status(t, p, http.Header{})
	status(t, p, http.Header{"Authorization": {alice}, "Impersonate-User": {"bob"}})

	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, p.URL+"/api/v1/pods?watch=true", nil)
	req.Header.Set("Authorization", alice)
	resp, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: testpki.ClientConfig(t, p.CA.PEM)}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()

	series := []string{
		`aksoidc_proxy_requests_total{code="200",verb="list"}`,
		`aksoidc_proxy_requests_total{code="401",verb="list"}`,
		`aksoidc_proxy_requests_total{code="403",verb="list"}`,
		`aksoidc_proxy_authentication_failures_total{reason="invalid_token"}`,
		`aksoidc_proxy_authentication_failures_total{reason="no_token"}`,
		`aksoidc_proxy_token_cache_requests_total{result="miss"}`,
		`aksoidc_proxy_token_cache_requests_total{result="hit"}`,
		`aksoidc_proxy_upstream_duration_seconds_count{verb="list"}`,
		`aksoidc_proxy_long_running_requests_in_flight`,
	}
	got := map[string]float64{}
	for _, s := range series {
		got[s] = p.metric(t, s)
	}
	// Three cache hits: the impersonating request is authenticated before its 403, which
	// is about who asked (the fake API server grants no SubjectAccessReview).
	want := map[string]float64{series[0]: 2, series[1]: 2, series[2]: 1, series[3]: 1, series[4]: 1, series[5]: 1, series[6]: 3, series[7]: 2, series[8]: 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
}

func TestServesHTTP2AndRefusesOldTLS(t *testing.T) {
	var healthy atomic.Bool
	healthy.Store(true)
	iss := oidctest.New(t)
	p := startProxy(t, fakeAPIServer(t, &healthy), oidcFlags(iss, "oidc:")...)
	protocol := func(cfg *tls.Config) string {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, p.URL+"/api/v1/namespaces/team-a/pods", nil)
		req.Header.Set("Authorization", "Bearer "+aliceToken(t, iss, nil))
		resp, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}}).Do(req)
		if err != nil {
			return "error"
		}
		_ = resp.Body.Close()
		return resp.Proto
	}
	old := testpki.ClientConfig(t, p.CA.PEM)
	old.MinVersion, old.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
	got := []string{protocol(testpki.ClientConfig(t, p.CA.PEM)), protocol(old)}
	if diff := cmp.Diff([]string{"HTTP/2.0", "error"}, got); diff != "" {
		t.Errorf("TLS 1.2+ client, TLS 1.1 client (-want +got):\n%s", diff)
	}
}

func TestDiscoveryDocumentNeedsNoToken(t *testing.T) {
	var healthy atomic.Bool
	healthy.Store(true)
	iss := oidctest.New(t)
	p := startProxy(t, fakeAPIServer(t, &healthy), append(oidcFlags(iss, "oidc:"),
		"--discovery-extra-scopes=groups,email", "--discovery-ca-file="+iss.CAFile)...)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, p.URL+wellknown.Path, nil)
	resp, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: testpki.ClientConfig(t, p.CA.PEM)}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var got wellknown.Document
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatalf("status %s: %v", resp.Status, err)
	}
	want := wellknown.Document{IssuerURL: iss.URL, ClientID: "kubernetes", ExtraScopes: []string{"groups", "email"},
		Claims: []string{"groups", "sub", "tenant"}, CertificateAuthorityData: iss.CAPEM}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("discovery document (-want +got):\n%s", diff)
	}
}

// TestDiscoveryDocumentFollowsAReload: when a reload replaces the issuer, the discovery
// document names the new one, so `kubectl aksoidc setup` never learns a retired issuer.
func TestDiscoveryDocumentFollowsAReload(t *testing.T) {
	var healthy atomic.Bool
	healthy.Store(true)
	first, second := oidctest.New(t), oidctest.New(t)
	file := filepath.Join(t.TempDir(), "authn.yaml")
	write := func(iss *oidctest.Issuer) {
		config := oidctest.AuthenticationConfiguration(iss.JWTAuthenticator([]string{"kubernetes"},
			"  claimMappings:\n    username: {claim: email, prefix: \"\"}\n"))
		if err := os.WriteFile(file, []byte(config), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(first)
	p := startProxy(t, fakeAPIServer(t, &healthy), "--authentication-config="+file, "--authentication-config-reload-interval=100ms")
	document := func() wellknown.Document {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, p.URL+wellknown.Path, nil)
		resp, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: testpki.ClientConfig(t, p.CA.PEM)}}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		var doc wellknown.Document
		_ = json.NewDecoder(resp.Body).Decode(&doc)
		return doc
	}
	want := wellknown.Document{IssuerURL: first.URL, ClientID: "kubernetes", ExtraScopes: []string{"email"}, Claims: []string{"email"}}
	if diff := cmp.Diff(want, document()); diff != "" {
		t.Errorf("document at start (-want +got):\n%s", diff)
	}
	write(second)
	poll.Until(t, 30*time.Second, func() bool { return document().IssuerURL == second.URL })
	want.IssuerURL = second.URL
	if diff := cmp.Diff(want, document()); diff != "" {
		t.Errorf("document after the reload (-want +got):\n%s", diff)
	}
}
