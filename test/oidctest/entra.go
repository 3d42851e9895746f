package oidctest

import (
	"net/http"
	"testing"
	"time"
)

// Entra is an Issuer that serves and signs tokens shaped as Microsoft Entra ID's, on its own
// loopback server: the v2.0 issuer URL/<tenant>/v2.0, and the v1.0 issuer URL/sts/<tenant>/,
// whose discovery document is also served at URL/<tenant>/ (as
// https://login.microsoftonline.com/<tenant>/ names https://sts.windows.net/<tenant>/: the URL
// a configuration fetches from differs from the iss it accepts). Hosts maps Entra's hosts to
// these loopback stand-ins, so a test can rewrite a configuration written for Entra ID.
type Entra struct {
	*Issuer
	Tenant string
}

// EntraUser is whom an Entra token names.
type EntraUser struct {
	OID    string   // the object ID, Entra's stable user identifier
	UPN    string   // preferred_username (v2), upn and unique_name (v1)
	Name   string   // display name
	Groups []string // group object IDs (GUIDs)
}

// NewEntra starts an Entra-shaped issuer for tenant (a GUID) and closes it with t.Cleanup.
func NewEntra(t testing.TB, tenant string) *Entra {
	t.Helper()
	e := &Entra{Issuer: New(t), Tenant: tenant}
	v2 := e.discovery(e.V2Issuer(), e.URL+"/"+tenant+"/discovery/v2.0/keys")
	v1 := e.discovery(e.V1Issuer(), e.URL+"/common/discovery/keys")
	e.Mux.HandleFunc("GET /"+tenant+"/v2.0/.well-known/openid-configuration", v2)
	e.Mux.HandleFunc("GET /"+tenant+"/.well-known/openid-configuration", v1)
	e.Mux.HandleFunc("GET /sts/"+tenant+"/.well-known/openid-configuration", v1)
	e.Mux.HandleFunc("GET /"+tenant+"/discovery/v2.0/keys", e.serveKeys)
	e.Mux.HandleFunc("GET /common/discovery/keys", e.serveKeys)
	// Microsoft Graph without an access token: what a verifier following an overage token's
	// _claim_sources gets.
	e.Mux.HandleFunc("/graph/", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, `{"error":{"code":"InvalidAuthenticationToken"}}`, http.StatusUnauthorized)
	})
	return e
}

// Hosts maps the origins of Entra ID (login, v1 token issuer, Graph) to this server's stand-ins.
func (e *Entra) Hosts() map[string]string {
	return map[string]string{
		"https://login.microsoftonline.com": e.URL,
		"https://sts.windows.net":           e.URL + "/sts",
		"https://graph.windows.net":         e.URL + "/graph",
	}
}

// V2Issuer is the iss of v2.0 tokens, the stand-in of https://login.microsoftonline.com/<tenant>/v2.0.
func (e *Entra) V2Issuer() string { return e.URL + "/" + e.Tenant + "/v2.0" }

// V1Issuer is the iss of v1.0 tokens, the stand-in of https://sts.windows.net/<tenant>/ (with
// its trailing slash).
func (e *Entra) V1Issuer() string { return e.URL + "/sts/" + e.Tenant + "/" }

func (e *Entra) discovery(issuer, jwks string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, map[string]any{
			"issuer":                                issuer,
			"authorization_endpoint":                e.URL + "/" + e.Tenant + "/oauth2/v2.0/authorize",
			"token_endpoint":                        e.URL + "/" + e.Tenant + "/oauth2/v2.0/token",
			"jwks_uri":                              jwks,
			"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
			"subject_types_supported":               []string{"pairwise"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"claims_supported":                      []string{"sub", "iss", "aud", "exp", "iat", "name", "oid", "tid", "preferred_username", "email", "ver"},
		})
	}
}

// V2IDToken returns the claims of an ID token from the v2.0 endpoint for clientID, as Entra
// issues it with groupMembershipClaims=SecurityGroup: aud is the client ID, ver "2.0", the user
// in oid and preferred_username, the tenant in tid, groups as object IDs, and a pairwise sub.
func (e *Entra) V2IDToken(u EntraUser, clientID string, ttl time.Duration) map[string]any {
	c := e.Claims("pairwise-"+u.OID, clientID, ttl)
	c["iss"] = e.V2Issuer()
	c["ver"] = "2.0"
	c["tid"] = e.Tenant
	c["oid"] = u.OID
	c["preferred_username"] = u.UPN
	c["name"] = u.Name
	c["groups"] = u.Groups
	c["uti"] = "AbCdEf123456"
	c["rh"] = "0.AAAA."
	return c
}

// V1AccessToken returns the claims of a v1.0 access token for the API audience (an application
// ID URI such as api://...): iss https://sts.windows.net/<tenant>/, ver "1.0", the user in oid,
// upn and unique_name, the client in appid.
func (e *Entra) V1AccessToken(u EntraUser, audience, clientID string, ttl time.Duration) map[string]any {
	c := e.Claims(u.OID, audience, ttl)
	c["iss"] = e.V1Issuer()
	c["ver"] = "1.0"
	c["tid"] = e.Tenant
	c["oid"] = u.OID
	c["upn"] = u.UPN
	c["unique_name"] = u.UPN
	c["name"] = u.Name
	c["groups"] = u.Groups
	c["appid"] = clientID
	c["scp"] = "user_impersonation"
	return c
}

// Overage turns claims into the shape Entra gives a user in more groups than fit in a token:
// no groups claim, and a distributed-claims reference to Microsoft Graph in its place.
func (e *Entra) Overage(claims map[string]any) map[string]any {
	delete(claims, "groups")
	oid, _ := claims["oid"].(string)
	claims["_claim_names"] = map[string]any{"groups": "src1"}
	claims["_claim_sources"] = map[string]any{"src1": map[string]any{
		"endpoint": e.URL + "/graph/" + e.Tenant + "/users/" + oid + "/getMemberObjects",
	}}
	return claims
}
