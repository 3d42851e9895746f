package main

import (
	"strings"
	"testing"
)

// FuzzParseExecInfo: whatever kubectl, or anyone setting the variable, puts
// in KUBERNETES_EXEC_INFO, parsing never panics, an accepted value names an
// apiVersion get-token can answer in, and a refused one is an error naming
// the variable.
func FuzzParseExecInfo(f *testing.F) {
	f.Add(`{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","spec":{"interactive":true}}`)
	f.Fuzz(func(t *testing.T, raw string) {
		info, err := parseExecInfo(raw)
		if err != nil {
			if !strings.HasPrefix(err.Error(), execInfoEnv+": ") {
				t.Fatalf("error %q does not name %s", err, execInfoEnv)
			}
			return
		}
		if info.apiVersion != apiV1 && info.apiVersion != apiV1beta1 {
			t.Fatalf("%q accepted with apiVersion %q", raw, info.apiVersion)
		}
		if raw == "" && !info.interactive {
			t.Fatalf("without %s (a shell), the call must count as interactive", execInfoEnv)
		}
	})
}
