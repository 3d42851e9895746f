package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestOnboardingFlagsRefused: what the onboarding page would show anyone, or could not show, is
// refused at start, every mistake at once.
func TestOnboardingFlagsRefused(t *testing.T) {
	t.Parallel()
	base := []string{"--oidc-issuer-url=https://127.0.0.1", "--oidc-client-id=k", "--tls-cert-file=c", "--tls-private-key-file=k"}
	tests := []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{"page settings without a URL", []string{"--onboarding", "--onboarding-display-name=Prod", "--onboarding-message=#help"},
			"aksoidc-proxy: --onboarding-display-name needs --onboarding-server-url\n" +
				"aksoidc-proxy: --onboarding-message needs --onboarding-server-url\n" +
				"aksoidc-proxy: --onboarding needs --onboarding-server-url\n"},
		{"bad URL and texts", []string{"--onboarding-server-url=http://proxy.example.com/path", "--onboarding-display-name=" + strings.Repeat("x", 101),
			"--onboarding-message=a\x1b[2J"},
			"aksoidc-proxy: --onboarding-server-url \"http://proxy.example.com/path\": want an https URL with a host\n" +
				"aksoidc-proxy: --onboarding-display-name: longer than 100 characters\n" +
				"aksoidc-proxy: --onboarding-message: holds a control character\n"},
		{"a URL with a path", []string{"--onboarding-server-url=https://proxy.example.com/k8s"},
			"aksoidc-proxy: --onboarding-server-url \"https://proxy.example.com/k8s\": want only scheme, host and port: no path, user info, query or fragment\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			code := runWith(t.Context(), append(append([]string{"aksoidc-proxy"}, base...), tt.args...), "test", &stdout, &stderr)
			if diff := cmp.Diff(tt.wantStderr, stderr.String()); diff != "" || code != 2 {
				t.Errorf("exit %d (want 2), stderr (-want +got):\n%s", code, diff)
			}
		})
	}
}
