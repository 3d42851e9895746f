package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestBadFlagsAreAllReportedAtOnce: every problem of a command line is reported at once, one
// line each with the program's name, naming the flag and what it wants, exit code 2, as
// kubectl-aksoidc does (cmd/kubectl-aksoidc/run_test.go). A file a flag names that cannot be
// read or is invalid is such a problem too, not a log line.
func TestBadFlagsAreAllReportedAtOnce(t *testing.T) {
	const p = "aksoidc-proxy: "
	dir := t.TempDir()
	notYAML := filepath.Join(dir, "authn.yaml")
	if err := os.WriteFile(notYAML, []byte("apiVersion: apiserver.config.k8s.io/v1\nkind: AuthenticationConfiguration\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	serving := []string{"--tls-cert-file=c", "--tls-private-key-file=k"}
	tests := []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{
			name: "nothing given",
			args: nil,
			wantStderr: p + "either --authentication-config or both --oidc-issuer-url and --oidc-client-id are required\n" +
				p + "--tls-cert-file and --tls-private-key-file are required\n",
		},
		{
			name: "file and flags together, and every other mistake",
			args: []string{"--authentication-config=a.yaml", "--oidc-issuer-url=https://127.0.0.1", "--oidc-required-claim=novalue",
				"--oidc-signing-algs=HS256", "--trusted-proxy-cidr=10.0.0.1", "--trusted-proxy-cidr=10.0.0.0/8", "--tls-cert-file=c", "--tls-private-key-file=k",
				"--secure-port=70000", "--bind-address=localhost", "--request-timeout=0s", "--log-level=trace", "--upstream-qps=0", "--upstream-burst=-1"},
			wantStderr: p + "--authentication-config and --oidc-issuer-url, --oidc-required-claim, --oidc-signing-algs are mutually exclusive\n" +
				p + "--oidc-required-claim \"novalue\": want key=value\n" +
				p + "--oidc-signing-algs \"HS256\": want one of ES256, ES384, ES512, PS256, PS384, PS512, RS256, RS384, RS512\n" +
				p + "--trusted-proxy-cidr \"10.0.0.1\": want a CIDR such as 10.0.0.0/8\n" +
				p + "--secure-port 70000: want 0-65535\n" +
				p + "--bind-address \"localhost\": want an IP address\n" +
				p + "--request-timeout 0s: want a positive duration\n" +
				p + "--upstream-qps 0: want a positive number\n" +
				p + "--upstream-burst -1: want a positive whole number\n" +
				p + "--log-level \"trace\": want debug, info, warn or error\n",
		},
		{
			// kube-apiserver would keep the last: a chart value "tid=x" must not replace tid's rule.
			name: "a claim required twice",
			args: append([]string{"--oidc-issuer-url=https://127.0.0.1", "--oidc-client-id=k", "--oidc-required-claim=tid=corp",
				"--oidc-required-claim=tid=attacker=x"}, serving...),
			wantStderr: p + "--oidc-required-claim \"tid=attacker=x\": claim \"tid\" is already required\n",
		},
		{
			name:       "unknown flag",
			args:       []string{"--oidc-issuer"},
			wantStderr: p + "unknown flag: --oidc-issuer (see --help)\n",
		},
		{
			name:       "a value of the wrong type",
			args:       []string{"--secure-port=https"},
			wantStderr: p + "--secure-port \"https\": want a whole number\n",
		},
		{
			name: "files the flags name: every one unreadable",
			args: append([]string{"--oidc-issuer-url=https://127.0.0.1", "--oidc-client-id=k", "--oidc-ca-file=/nonexistent/ca.pem",
				"--kubeconfig=/nonexistent/kubeconfig"}, serving...),
			wantStderr: p + "--oidc-ca-file \"/nonexistent/ca.pem\": cannot read it: no such file or directory\n" +
				p + "--kubeconfig \"/nonexistent/kubeconfig\": cannot read it: no such file or directory\n",
		},
		{
			name: "an invalid authentication configuration",
			args: append([]string{"--authentication-config=" + notYAML, "--kubeconfig=/nonexistent/kubeconfig"}, serving...),
			wantStderr: p + "--authentication-config " + notYAML + ": jwt: at least one issuer is required\n" +
				p + "--kubeconfig \"/nonexistent/kubeconfig\": cannot read it: no such file or directory\n",
		},
		{
			name:       "outside a cluster without --kubeconfig",
			args:       append([]string{"--oidc-issuer-url=https://127.0.0.1", "--oidc-client-id=k"}, serving...),
			wantStderr: p + "--kubeconfig: want the proxy's kubeconfig outside a cluster (in a pod, the service account's is used)\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runWith(context.Background(), append([]string{"aksoidc-proxy"}, tt.args...), "test", &stdout, &stderr)
			if diff := cmp.Diff(tt.wantStderr, stderr.String()); diff != "" || code != 2 {
				t.Errorf("exit %d (want 2), stderr (-want +got):\n%s", code, diff)
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
			wantStderr: "aksoidc-proxy: unexpected argument \"serve\" (the only subcommand is version; see --help)\n"},
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
