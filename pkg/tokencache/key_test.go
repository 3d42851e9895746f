package tokencache

import "testing"

func TestKeyID(t *testing.T) {
	base := Key{
		IssuerURL: "https://issuer.example", ClientID: "kubectl",
		Scopes: []string{"openid", "email"}, GrantType: "authcode",
		ExtraParams: map[string]string{"login_hint": "alice", "prompt": "login"},
	}
	reordered := base
	reordered.Scopes = []string{"email", "openid"}
	reordered.ExtraParams = map[string]string{"prompt": "login", "login_hint": "alice"}
	if base.ID() != reordered.ID() {
		t.Errorf("the order of scopes or extra params changed the cache key")
	}
	differ := map[string]func(k *Key){
		"issuer":           func(k *Key) { k.IssuerURL = "https://other.example" },
		"client ID":        func(k *Key) { k.ClientID = "other" },
		"scopes":           func(k *Key) { k.Scopes = append(k.Scopes, "groups") },
		"grant type":       func(k *Key) { k.GrantType = "device-code" },
		"use access token": func(k *Key) { k.UseAccessToken = true },
		"another account":  func(k *Key) { k.ExtraParams = map[string]string{"login_hint": "bob", "prompt": "login"} },
		"param vs scope": func(k *Key) {
			k.Scopes = []string{"openid", "email", "login_hint"}
			k.ExtraParams = map[string]string{"alice": "", "prompt": "login"}
		},
	}
	for name, change := range differ {
		t.Run(name, func(t *testing.T) {
			k := base
			k.Scopes = append([]string(nil), base.Scopes...)
			change(&k)
			if k.ID() == base.ID() {
				t.Errorf("two configurations that differ in %s share a cache key", name)
			}
		})
	}
}
