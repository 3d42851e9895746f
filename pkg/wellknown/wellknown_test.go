package wellknown

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aksoidc/aksoidc/test/testpki"
	"github.com/google/go-cmp/cmp"
)

func TestHandlerServesTheDocument(t *testing.T) {
	want := Document{IssuerURL: "https://dex.example/dex", ClientID: "kubectl", ExtraScopes: []string{"groups"},
		CertificateAuthorityData: testpki.NewCA(t, "proxy CA").PEM}
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

// The proxy builds its Handler at start: a document a client would refuse
// must stop the proxy there, not every user's setup later.
func TestHandlerRefusesADocumentClientsWouldRefuse(t *testing.T) {
	_, err := Handler(Document{IssuerURL: "dex", ClientID: "-kubectl"})
	want := `discovery document: issuerURL "dex": not an absolute https URL; clientID "-kubectl": must not start with '-'`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}
