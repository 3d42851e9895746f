// Package wellknown is the proxy's public discovery document, served
// unauthenticated at Path, from which `kubectl aksoidc setup --server` learns
// how to log in. It depends on nothing heavy, so the plugin can import it.
package wellknown

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Path is where the proxy serves the document.
const Path = "/.well-known/aksoidc"

// Document holds only public information: where to log in and which CA
// signs the proxy's certificate.
type Document struct {
	IssuerURL   string   `json:"issuerURL"`
	ClientID    string   `json:"clientID"`
	ExtraScopes []string `json:"extraScopes,omitempty"`
	// CertificateAuthorityData is the PEM bundle that verifies the proxy's
	// serving certificate (the kubeconfig's certificate-authority-data).
	CertificateAuthorityData []byte `json:"certificateAuthorityData,omitempty"`
}

// Validate reports what a client cannot work with.
func (d Document) Validate() error {
	var errs []string
	if u, err := url.Parse(d.IssuerURL); err != nil || u.Scheme == "" || u.Host == "" {
		errs = append(errs, fmt.Sprintf("issuerURL %q is not an absolute URL", d.IssuerURL))
	}
	if d.ClientID == "" {
		errs = append(errs, "clientID is empty")
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// Handler serves the document. It is computed once: the proxy's config is
// fixed for the life of the process.
func Handler(d Document) (http.Handler, error) {
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("discovery document: %w", err)
	}
	body, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("discovery document: %w", err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(body)
	}), nil
}
