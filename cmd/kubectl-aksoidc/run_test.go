package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type result struct {
	code   int
	stdout string
	stderr string
}

func runCLI(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	return runCLIWithStdin(t, "", env, args...)
}

func runCLIWithStdin(t *testing.T, stdin string, env map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	s := streams{in: strings.NewReader(stdin), out: &out, err: &errb, getenv: func(k string) string { return env[k] }}
	code := runWith(context.Background(), append([]string{"kubectl-aksoidc"}, args...), "v1.2.3", s)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// TestBadInput: every problem of a command line is reported at once, one line each with the
// program's name, naming the flag and what it wants; exit code 2 (1 is for failures while
// running). aksoidc-proxy reports the same way (cmd/proxy/options_test.go).
func TestBadInput(t *testing.T) {
	t.Parallel()
	const p = "kubectl-aksoidc: "
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{
			name: "missing issuer and client",
			args: []string{"get-token"},
			want: p + "--issuer-url is required\n" + p + "--client-id is required\n",
		},
		{
			name: "plain http issuer",
			args: []string{"get-token", "--issuer-url", "http://issuer.example", "--client-id", "c"},
			want: p + "--issuer-url \"http://issuer.example\": plain http is allowed only for a loopback host; use https\n",
		},
		{
			name: "relative issuer",
			args: []string{"get-token", "--issuer-url", "issuer.example", "--client-id", "c"},
			want: p + "--issuer-url \"issuer.example\": not an absolute URL\n",
		},
		{
			name: "every flag wrong at once",
			args: []string{"get-token", "--issuer-url", "https://i.example", "--client-id", "c", "--grant-type", "password",
				"--token-cache-storage", "cloud", "--auth-request-extra-param", "prompt", "--min-validity", "-1s",
				"--login-timeout", "0s", "--listen-address", "8000", "--certificate-authority-data", "%%%",
				"--certificate-authority", "/nonexistent/ca.pem", "--token-cache-dir", ""},
			want: p + "--grant-type \"password\": want one of authcode, authcode-keyboard, device-code\n" +
				p + "--token-cache-storage \"cloud\": want keyring, file or none\n" +
				p + "--auth-request-extra-param \"prompt\": want key=value\n" +
				p + "--token-cache-dir: want a directory\n" +
				p + "--min-validity -1s: want 0s or more\n" +
				p + "--login-timeout 0s: want a positive duration\n" +
				p + "--listen-address \"8000\": want host:port such as 127.0.0.1:8000\n" +
				p + "--certificate-authority \"/nonexistent/ca.pem\": cannot read it: no such file or directory\n" +
				p + "--certificate-authority-data: want base64 of PEM certificates\n",
		},
		{
			name: "a value of the wrong type",
			args: []string{"get-token", "--min-validity", "soon"},
			want: p + "--min-validity \"soon\": want a duration such as 30s or 5m\n",
		},
		{
			name: "unknown exec info version",
			env:  map[string]string{execInfoEnv: `{"apiVersion":"client.authentication.k8s.io/v1alpha1","kind":"ExecCredential"}`},
			args: []string{"get-token", "--issuer-url", "https://i.example", "--client-id", "c", "--token-cache-storage", "none"},
			want: p + "KUBERNETES_EXEC_INFO: apiVersion \"client.authentication.k8s.io/v1alpha1\" is not supported " +
				"(want client.authentication.k8s.io/v1 or client.authentication.k8s.io/v1beta1)\n",
		},
		{
			name: "unknown flag",
			args: []string{"get-token", "--issuer", "https://i.example"},
			want: p + "unknown flag: --issuer (see --help)\n",
		},
		{
			name: "stray argument",
			args: []string{"get-token", "now"},
			want: p + "unexpected argument \"now\" (see --help)\n",
		},
		{
			name: "unknown command",
			args: []string{"login"},
			want: p + "unknown command \"login\" for \"kubectl-aksoidc\" (see --help)\n",
		},
		{
			name: "whoami without settings",
			args: []string{"whoami"},
			want: p + "--issuer-url is required\n" + p + "--client-id is required\n",
		},
		{
			name: "setup: every flag checked before the server is contacted",
			env:  map[string]string{"KUBERC": "off"},
			args: []string{"setup", "--server", "https://127.0.0.1:1", "--grant-type", "password",
				"--server-certificate-authority", "/nonexistent/proxy-ca.pem", "--kuberc", "/tmp/kuberc"},
			want: p + "--grant-type \"password\": want one of authcode, authcode-keyboard, device-code\n" +
				p + "--server-certificate-authority \"/nonexistent/proxy-ca.pem\": cannot read it: no such file or directory\n" +
				p + "--kuberc: $KUBERC=off turns kuberc off; kubectl refuses both together\n",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := runCLI(t, tc.env, tc.args...)
			want := result{code: 2, stderr: tc.want}
			if diff := cmp.Diff(want, got, cmp.AllowUnexported(result{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	got := runCLI(t, nil, "version")
	want := result{code: 0, stdout: "kubectl-aksoidc v1.2.3\n"}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(result{})); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
