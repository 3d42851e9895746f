// Package wellknown is the proxy's public discovery document, served
// unauthenticated at Path, from which `kubectl aksoidc setup --server` learns
// how to log in. It depends on nothing heavy, so the plugin can import it.
package wellknown

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
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
	// Claims are the claims the proxy maps or validates: when the proxy
	// refuses a token, setup names those the token lacks. Only printed,
	// never passed on.
	Claims []string `json:"claims,omitempty"`
	// CertificateAuthorityData is the PEM bundle that verifies the proxy's
	// serving certificate (the kubeconfig's certificate-authority-data).
	CertificateAuthorityData []byte `json:"certificateAuthorityData,omitempty"`
}

// Validate reports, all at once, every field a client must not use. The
// document may come from a server the user only trusted on first use, and its
// values end up in the user's kubeconfig and in the arguments of every
// get-token call, so each field is held to the narrowest form it may take.
func (d Document) Validate() error {
	var errs []string
	if err := validateIssuerURL(d.IssuerURL); err != nil {
		errs = append(errs, err.Error())
	}
	if err := validateToken(d.ClientID); err != nil {
		errs = append(errs, "clientID "+err.Error())
	}
	if len(d.ExtraScopes) > MaxExtraScopes {
		errs = append(errs, fmt.Sprintf("extraScopes: %d scopes, more than %d", len(d.ExtraScopes), MaxExtraScopes))
	}
	for i, sc := range d.ExtraScopes {
		if err := validateToken(sc); err != nil {
			errs = append(errs, fmt.Sprintf("extraScopes[%d] %s", i, err))
		}
	}
	if len(d.Claims) > MaxClaims {
		errs = append(errs, fmt.Sprintf("claims: %d claims, more than %d", len(d.Claims), MaxClaims))
	}
	for i, c := range d.Claims {
		if err := ValidateClaim(c); err != nil {
			errs = append(errs, fmt.Sprintf("claims[%d] %s", i, err))
		}
	}
	if len(d.CertificateAuthorityData) > 0 {
		if err := validateCertificates(d.CertificateAuthorityData); err != nil {
			errs = append(errs, "certificateAuthorityData: "+err.Error())
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// Handler serves d, encoded once; the proxy builds a new one when a reload
// changes the document (proxy.NewDiscovery).
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
