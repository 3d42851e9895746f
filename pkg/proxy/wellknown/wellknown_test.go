package wellknown

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestHandlerServesTheDocument(t *testing.T) {
	want := Document{IssuerURL: "https://dex.example/dex", ClientID: "kubectl", ExtraScopes: []string{"groups"},
		CertificateAuthorityData: []byte("-----BEGIN CERTIFICATE-----\n")}
	h, err := Handler(want)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, Path, nil))
	var got Document
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatalf("body %q: %v", rec.Body, err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodPost, Path, nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST answered %d, want 405", rec.Code)
	}
}

func TestHandlerRefusesAnIncompleteDocument(t *testing.T) {
	_, err := Handler(Document{IssuerURL: "dex"})
	want := "discovery document: issuerURL \"dex\" is not an absolute URL; clientID is empty"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}
