package authn

import (
	"net/url"
	"regexp"
	"slices"
	"strings"

	"k8s.io/apiserver/pkg/apis/apiserver"
)

// LoginNeeds is what a login must ask an issuer for so that its tokens carry what one issuer's
// configuration reads.
type LoginNeeds struct {
	// Claims are the claims the configuration maps or validates, sorted.
	Claims []string
	// Scopes are the scopes behind those claims, sorted; never openid or offline_access, which
	// the plugin always asks for.
	Scopes []string
}

// claimScopes is the scope that makes an issuer put a claim into the ID token: OIDC Core 1.0
// §5.4 for the standard claims, plus Dex's groups scope. Claims without an entry (sub, or an
// issuer's own claims) come without asking, or by the issuer's own configuration.
var claimScopes = map[string]string{
	"email": "email", "email_verified": "email",
	"address":      "address",
	"phone_number": "phone", "phone_number_verified": "phone",
	"groups": "groups",
	"name":   "profile", "family_name": "profile", "given_name": "profile", "middle_name": "profile",
	"nickname": "profile", "preferred_username": "profile", "profile": "profile", "picture": "profile",
	"website": "profile", "gender": "profile", "birthdate": "profile", "zoneinfo": "profile",
	"locale": "profile", "updated_at": "profile",
}

// entraClaimScopes overrides claimScopes for Microsoft Entra ID. Entra's v2.0 endpoint reads a
// scope it does not know as a Microsoft Graph permission and refuses the login (AADSTS650053),
// and its groups claim comes from the app registration (groupMembershipClaims), so groups
// needs no scope. Its ID tokens carry oid and tid only with the profile scope.
var entraClaimScopes = map[string]string{"groups": "", "oid": "profile", "tid": "profile"}

// entraHosts are the login hosts of Entra ID's clouds, v2.0 and v1.0 issuers.
var entraHosts = []string{
	"login.microsoftonline.com", "login.microsoftonline.us", "login.chinacloudapi.cn",
	"login.partner.microsoftonline.cn", "sts.windows.net", "sts.chinacloudapi.cn",
}

// celClaim finds the claims a CEL expression reads by name: claims.x, claims.?x, claims["x"],
// claims[?"x"] (either quote), has(claims.x) among them. A regular expression cannot parse CEL:
// a claim chosen at run time (claims[k]) is not found, and the text of a string literal that
// looks like claims.x is taken for a claim. A method call on the map (claims.exists(...)) is
// not a claim; the last group tells it apart.
var celClaim = regexp.MustCompile(`\bclaims\s*(?:\.\s*\??\s*([A-Za-z_][A-Za-z0-9_]*)(\s*\()?|\[\s*\??\s*(?:"([^"\\]*)"|'([^'\\]*)')\s*\])`)

// NeedsOf returns the claims jwt maps or validates, from its claim names and, as far as
// celClaim can read them, its CEL expressions, and the scopes behind them at jwt's issuer.
func NeedsOf(jwt apiserver.JWTAuthenticator) LoginNeeds {
	m := jwt.ClaimMappings
	names := []string{m.Username.Claim, m.Groups.Claim, m.UID.Claim}
	exprs := []string{m.Username.Expression, m.Groups.Expression, m.UID.Expression}
	for _, e := range m.Extra {
		exprs = append(exprs, e.ValueExpression)
	}
	for _, r := range jwt.ClaimValidationRules {
		names, exprs = append(names, r.Claim), append(exprs, r.Expression)
	}
	for _, e := range exprs {
		names = append(names, claimsIn(e)...)
	}
	var n LoginNeeds
	entra := isEntra(jwt.Issuer.URL)
	for _, c := range names {
		if c == "" {
			continue
		}
		n.Claims = append(n.Claims, c)
		scope, ok := entraClaimScopes[c]
		if !ok || !entra {
			scope = claimScopes[c]
		}
		if scope != "" {
			n.Scopes = append(n.Scopes, scope)
		}
	}
	slices.Sort(n.Claims)
	slices.Sort(n.Scopes)
	n.Claims, n.Scopes = slices.Compact(n.Claims), slices.Compact(n.Scopes)
	return n
}

func claimsIn(expr string) []string {
	var out []string
	for _, m := range celClaim.FindAllStringSubmatch(expr, -1) {
		switch {
		case m[1] != "" && m[2] == "":
			out = append(out, m[1])
		case m[3] != "":
			out = append(out, m[3])
		case m[4] != "":
			out = append(out, m[4])
		}
	}
	return out
}

func isEntra(issuerURL string) bool {
	u, err := url.Parse(issuerURL)
	return err == nil && slices.Contains(entraHosts, strings.ToLower(u.Hostname()))
}
