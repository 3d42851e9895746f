package login_test

import (
	"testing"

	"github.com/aksoidc/aksoidc/pkg/login"
	"github.com/google/go-cmp/cmp"
)

func TestSettingsScopesAndCacheKey(t *testing.T) {
	t.Parallel()
	base := login.Settings{IssuerURL: "https://issuer.example", ClientID: "kubectl", GrantType: login.AuthCode,
		ExtraScopes: []string{"groups", "email"}, ExtraParams: map[string]string{"a": "1", "b": "2"}}
	with := func(f func(*login.Settings)) login.Settings {
		s := base
		f(&s)
		return s
	}
	if diff := cmp.Diff([]string{"openid", "offline_access", "groups", "email"}, base.Scopes()); diff != "" {
		t.Errorf("Scopes (-want +got):\n%s", diff)
	}
	tests := []struct {
		name     string
		settings login.Settings
		same     bool
	}{
		{"scopes reordered", with(func(s *login.Settings) { s.ExtraScopes = []string{"email", "groups"} }), true},
		{"scopes repeated, always-requested named", with(func(s *login.Settings) {
			s.ExtraScopes = []string{"email", "offline_access", "groups", "email", "openid"}
		}), true},
		{"parameters in another map", with(func(s *login.Settings) { s.ExtraParams = map[string]string{"b": "2", "a": "1"} }), true},
		{"another scope", with(func(s *login.Settings) { s.ExtraScopes = []string{"groups"} }), false},
		{"another parameter value", with(func(s *login.Settings) { s.ExtraParams = map[string]string{"a": "1", "b": "3"} }), false},
		{"another grant", with(func(s *login.Settings) { s.GrantType = login.DeviceCode }), false},
		{"access token", with(func(s *login.Settings) { s.UseAccessToken = true }), false},
		{"another client", with(func(s *login.Settings) { s.ClientID = "other" }), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if same := tt.settings.CacheKey().ID() == base.CacheKey().ID(); same != tt.same {
				t.Errorf("same cache entry as the base settings: %v, want %v", same, tt.same)
			}
		})
	}
}
