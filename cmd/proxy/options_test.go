package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestBadFlagsAreAllReportedAtOnce(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{
			name:     "nothing given",
			args:     nil,
			wantCode: 2,
			wantStderr: "error: either --authentication-config or both --oidc-issuer-url and --oidc-client-id are required\n" +
				"--tls-cert-file and --tls-private-key-file are required\n",
		},
		{
			name: "file and flags together, and every other mistake",
			args: []string{"--authentication-config=a.yaml", "--oidc-issuer-url=https://127.0.0.1", "--oidc-required-claim=novalue",
				"--oidc-signing-algs=HS256", "--trusted-proxy-cidr=10.0.0.1", "--tls-cert-file=c", "--tls-private-key-file=k",
				"--secure-port=70000", "--bind-address=localhost", "--request-timeout=0s", "--log-level=trace"},
			wantCode: 2,
			wantStderr: "error: --authentication-config and --oidc-issuer-url, --oidc-required-claim, --oidc-signing-algs are mutually exclusive\n" +
				"--oidc-required-claim \"novalue\": want key=value\n" +
				"--oidc-signing-algs: \"HS256\" is not one of ES256, ES384, ES512, PS256, PS384, PS512, RS256, RS384, RS512\n" +
				"--trusted-proxy-cidr \"10.0.0.1\": netip.ParsePrefix(\"10.0.0.1\"): no '/'\n" +
				"--secure-port 70000: want 0-65535\n" +
				"--bind-address \"localhost\": want an IP address\n" +
				"--request-timeout 0s: want a positive duration\n" +
				"--log-level \"trace\": want debug, info, warn or error\n",
		},
		{
			name:       "unknown flag",
			args:       []string{"--oidc-issuer"},
			wantCode:   2,
			wantStderr: "error: unknown flag: --oidc-issuer (see --help)\n",
		},
		{
			name:       "missing CA file",
			args:       []string{"--oidc-issuer-url=https://127.0.0.1", "--oidc-client-id=k", "--oidc-ca-file=/nonexistent/ca.pem", "--tls-cert-file=c", "--tls-private-key-file=k"},
			wantCode:   1,
			wantStderr: `{"level":"ERROR","msg":"aksoidc-proxy stopped","error":"read --oidc-ca-file: open /nonexistent/ca.pem: no such file or directory"}` + "\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runWith(context.Background(), append([]string{"aksoidc-proxy"}, tt.args...), "test", &stdout, &stderr)
			if diff := cmp.Diff(tt.wantStderr, stripTime(stderr.String())); diff != "" || code != tt.wantCode {
				t.Errorf("exit %d (want %d), stderr (-want +got):\n%s", code, tt.wantCode, diff)
			}
		})
	}
}

// stripTime removes the "time" field slog writes first on each JSON line.
func stripTime(s string) string {
	var out strings.Builder
	for line := range strings.Lines(s) {
		if i := strings.Index(line, `"level"`); strings.HasPrefix(line, "{") && i > 0 {
			line = "{" + line[i:]
		}
		out.WriteString(line)
	}
	return out.String()
}

func TestVersionAndStrayArguments(t *testing.T) {
	tests := []struct {
		name                   string
		args                   []string
		wantCode               int
		wantStdout, wantStderr string
	}{
		{name: "subcommand", args: []string{"version"}, wantStdout: "aksoidc-proxy v1.2.3\n"},
		{name: "flag", args: []string{"--version"}, wantStdout: "aksoidc-proxy v1.2.3\n"},
		{name: "stray argument", args: []string{"--oidc-issuer-url=https://127.0.0.1", "serve"}, wantCode: 2,
			wantStderr: "error: unexpected argument \"serve\" (the only subcommand is version; see --help)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runWith(context.Background(), append([]string{"aksoidc-proxy"}, tt.args...), "v1.2.3", &stdout, &stderr)
			got := []any{code, stdout.String(), stderr.String()}
			if diff := cmp.Diff([]any{tt.wantCode, tt.wantStdout, tt.wantStderr}, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
