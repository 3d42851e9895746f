package login_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aksoidc/aksoidc/pkg/login"
)

// TestIssuerClientFollowsNoRedirectThatCouldLeak: requests to the issuer carry codes, refresh
// tokens and client secrets in their bodies; a 307/308 would make Go send the body again to
// the Location. The client follows no redirect of a request with a body, nor a GET to plain
// http off loopback, and still follows an https or loopback GET redirect (discovery).
func TestIssuerClientFollowsNoRedirectThatCouldLeak(t *testing.T) {
	t.Parallel()
	var reached atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		reached.Add(1)
	}))
	t.Cleanup(target.Close)
	tests := []struct {
		name, method, location string
		status                 int
		wantStatus             int
		wantReached            int32
	}{
		{"POST 307 to the same kind of server", http.MethodPost, target.URL + "/steal", http.StatusTemporaryRedirect, http.StatusTemporaryRedirect, 0},
		{"POST 308", http.MethodPost, target.URL + "/steal", http.StatusPermanentRedirect, http.StatusPermanentRedirect, 0},
		{"GET to plain http off loopback", http.MethodGet, "http://evil.example/steal", http.StatusFound, http.StatusFound, 0},
		{"GET to loopback", http.MethodGet, target.URL + "/ok", http.StatusFound, http.StatusOK, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reached.Store(0)
			src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, tt.location, tt.status)
			}))
			t.Cleanup(src.Close)
			hc, err := login.NewHTTPClient(login.TLSConfig{}, login.Logger{})
			if err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequestWithContext(t.Context(), tt.method, src.URL, strings.NewReader("token=SECRET"))
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != tt.wantStatus || reached.Load() != tt.wantReached {
				t.Errorf("status %d, redirect target reached %d times; want %d, %d", resp.StatusCode, reached.Load(), tt.wantStatus, tt.wantReached)
			}
		})
	}
}
