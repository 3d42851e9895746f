package tokencache

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"sort"
)

// Key names the settings that decide which token a login returns.
type Key struct {
	IssuerURL      string
	ClientID       string
	Scopes         []string
	GrantType      string
	UseAccessToken bool
	ExtraParams    map[string]string
}

// ID returns a stable hex digest of the key. Scopes and extra parameters are
// sorted first, so flag order never splits one login into two cache entries.
func (k Key) ID() string {
	scopes := slices.Clone(k.Scopes)
	sort.Strings(scopes)
	params := make([][2]string, 0, len(k.ExtraParams))
	for name, value := range k.ExtraParams {
		params = append(params, [2]string{name, value})
	}
	sort.Slice(params, func(i, j int) bool { return params[i][0] < params[j][0] })
	// json.Marshal of these plain types cannot fail.
	b, _ := json.Marshal(struct {
		Issuer, ClientID, GrantType string
		Scopes                      []string
		UseAccessToken              bool
		Params                      [][2]string
	}{k.IssuerURL, k.ClientID, k.GrantType, scopes, k.UseAccessToken, params})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
