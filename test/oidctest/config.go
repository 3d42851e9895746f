package oidctest

import "strings"

// AuthenticationConfiguration is kube-apiserver's apiserver.config.k8s.io/v1 configuration
// file with the given jwt entries (see JWTAuthenticator).
func AuthenticationConfiguration(jwt ...string) string {
	return "apiVersion: apiserver.config.k8s.io/v1\nkind: AuthenticationConfiguration\njwt:\n" + strings.Join(jwt, "")
}

// JWTAuthenticator is one jwt entry for this issuer: its URL, its CA and the given audiences,
// followed by more, YAML whose lines indented by four spaces go on with the issuer
// (audienceMatchPolicy) and by two with the entry (claimMappings, claimValidationRules).
func (i *Issuer) JWTAuthenticator(audiences []string, more string) string {
	ca := strings.ReplaceAll(strings.TrimSpace(string(i.CAPEM)), "\n", "\n        ")
	return "- issuer:\n" +
		"    url: " + i.URL + "\n" +
		"    audiences: [" + strings.Join(audiences, ", ") + "]\n" +
		"    certificateAuthority: |\n        " + ca + "\n" +
		more
}
