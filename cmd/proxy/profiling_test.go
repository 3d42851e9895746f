package main

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/rest"

	"github.com/aksoidc/aksoidc/test/oidctest"
)

// TestProfiling: --profiling serves Go's profiles on the probe port, and only there; without
// the flag the probe port has none. On the secure port /debug/pprof/ is an API path like any
// other: authenticated and forwarded to the API server.
func TestProfiling(t *testing.T) {
	var healthy atomic.Bool
	healthy.Store(true)
	iss := oidctest.New(t)
	kubeconfig := fakeAPIServer(t, &healthy)
	for _, tc := range []struct {
		name                string
		flags               []string
		probe, secure, anon answer
	}{
		{"off by default", nil, answer{Status: 404}, answer{Status: 200}, answer{Status: 401}},
		{"--profiling", []string{"--profiling"}, answer{Status: 200, LooksLikeGo: true}, answer{Status: 200}, answer{Status: 401}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startProxy(t, kubeconfig, append(oidcFlags(iss, "oidc:"), tc.flags...)...)
			const path = "/debug/pprof/goroutine?debug=1"
			got := struct{ Probe, Secure, Anon answer }{
				Probe:  get(t, http.DefaultClient, p.ProbeURL+path, ""),
				Secure: get(t, secureClient(t, p), p.URL+path, aliceToken(t, iss, nil)),
				Anon:   get(t, secureClient(t, p), p.URL+path, ""),
			}
			want := struct{ Probe, Secure, Anon answer }{tc.probe, tc.secure, tc.anon}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("GET %s on the probe port, the secure port with and without a token (-want +got):\n%s", path, diff)
			}
		})
	}
}

func secureClient(t *testing.T, p *runningProxy) *http.Client {
	t.Helper()
	c, err := rest.HTTPClientFor(&rest.Config{TLSClientConfig: rest.TLSClientConfig{CAData: p.CA.PEM}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// answer is what a GET of a goroutine profile returned.
type answer struct {
	Status      int
	LooksLikeGo bool // a goroutine profile in text form names runtime functions
}

func get(t *testing.T, c *http.Client, url, token string) (a answer) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	a.Status, a.LooksLikeGo = resp.StatusCode, strings.Contains(string(body), "runtime.")
	return a
}
