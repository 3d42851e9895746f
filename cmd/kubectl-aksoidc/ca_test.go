package main

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aksoidc/aksoidc/test/oidctest"
	"github.com/aksoidc/aksoidc/test/testpki"
)

// TestCAFlagsReplaceTheSystemRoots: get-token's --certificate-authority and setup's
// --server-certificate-authority mean the same: the CAs given and no other, as kubectl's
// --certificate-authority. The system's roots (SSL_CERT_FILE) trust the issuer and the proxy
// here; a flag naming another CA must make the same servers fail.
func TestCAFlagsReplaceTheSystemRoots(t *testing.T) {
	t.Parallel()
	p := oidctest.NewProvider(t, "kubectl")
	srv, _ := fakeProxy(t, p, proxyFake{})
	dir := t.TempDir()
	proxyCA := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	systemRoots := writeFile(t, dir, "system-roots.pem", append(append([]byte{}, p.CAPEM...), proxyCA...))
	otherCA := writeFile(t, dir, "other-ca.pem", testpki.NewCA(t, "other").PEM)
	cache := []string{"--grant-type", "device-code", "--token-cache-storage", "file", "--token-cache-dir", filepath.Join(dir, "cache")}
	getToken := append([]string{"get-token", "--issuer-url", p.URL, "--client-id", p.ClientID, "--force-refresh"}, cache...)
	setup := append([]string{"setup", "--server", srv.URL, "--kubeconfig", filepath.Join(dir, "config"), "--force-refresh"}, cache...)
	const unknownCA = "x509: certificate signed by unknown authority"
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string // in stderr
	}{
		{name: "get-token, the system's roots", args: getToken},
		{name: "get-token, --certificate-authority another CA", args: append(getToken, "--certificate-authority", otherCA),
			wantCode: 1, wantErr: unknownCA},
		{name: "setup, the system's roots", args: setup},
		{name: "setup, --server-certificate-authority another CA", args: append(setup, "--server-certificate-authority", otherCA),
			wantCode: 1, wantErr: "discover " + srv.URL + "/.well-known/aksoidc: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stderr := runCLIProcess(t, map[string]string{"SSL_CERT_FILE": systemRoots}, tt.args)
			if code != tt.wantCode || (tt.wantErr != "" && !strings.Contains(stderr, tt.wantErr)) ||
				(tt.wantCode != 0 && !strings.Contains(stderr, unknownCA)) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit %d and %q, %q", code, stderr, tt.wantCode, tt.wantErr, unknownCA)
			}
		})
	}
}

func writeFile(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// runCLIProcess runs the plugin in a new process of the test binary (see TestMain).
func runCLIProcess(t *testing.T, env map[string]string, args []string) (int, string) {
	t.Helper()
	raw, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), os.Args[0]) //nolint:gosec // the test binary itself
	cmd.Env = append(os.Environ(), runCLIEnv+"="+string(raw))
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("run the plugin: %v", err)
	}
	return cmd.ProcessState.ExitCode(), stderr.String()
}
