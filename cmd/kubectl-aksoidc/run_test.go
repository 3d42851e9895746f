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

func TestBadInput(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{
			name: "missing issuer and client",
			args: []string{"get-token"},
			want: "kubectl-aksoidc: --issuer-url is required; --client-id is required\n",
		},
		{
			name: "plain http issuer",
			args: []string{"get-token", "--issuer-url", "http://issuer.example", "--client-id", "c"},
			want: "kubectl-aksoidc: --issuer-url \"http://issuer.example\": plain http is allowed only for a loopback host; use https\n",
		},
		{
			name: "relative issuer",
			args: []string{"get-token", "--issuer-url", "issuer.example", "--client-id", "c"},
			want: "kubectl-aksoidc: --issuer-url \"issuer.example\": not an absolute URL\n",
		},
		{
			name: "every flag wrong at once",
			args: []string{"get-token", "--issuer-url", "https://i.example", "--client-id", "c", "--grant-type", "password",
				"--token-cache-storage", "cloud", "--auth-request-extra-param", "prompt", "--min-validity", "-1s",
				"--login-timeout", "0s", "--listen-address", "8000", "--certificate-authority-data", "%%%",
				"--certificate-authority", "/nonexistent/ca.pem"},
			want: "kubectl-aksoidc: --grant-type \"password\": want one of authcode, authcode-keyboard, device-code; " +
				"--token-cache-storage \"cloud\": want keyring, file or none; --auth-request-extra-param \"prompt\": want key=value; " +
				"--min-validity -1s: must not be negative; --login-timeout 0s: must be positive; --listen-address \"8000\": want host:port; " +
				"--certificate-authority: open /nonexistent/ca.pem: no such file or directory; " +
				"--certificate-authority-data: not base64: illegal base64 data at input byte 0\n",
		},
		{
			name: "unknown exec info version",
			env:  map[string]string{execInfoEnv: `{"apiVersion":"client.authentication.k8s.io/v1alpha1","kind":"ExecCredential"}`},
			args: []string{"get-token", "--issuer-url", "https://i.example", "--client-id", "c", "--token-cache-storage", "none"},
			want: "kubectl-aksoidc: KUBERNETES_EXEC_INFO: apiVersion \"client.authentication.k8s.io/v1alpha1\" is not supported " +
				"(want client.authentication.k8s.io/v1 or client.authentication.k8s.io/v1beta1)\n",
		},
		{
			name: "unknown flag",
			args: []string{"get-token", "--issuer", "https://i.example"},
			want: "kubectl-aksoidc: unknown flag: --issuer\n",
		},
		{
			name: "whoami without settings",
			args: []string{"whoami"},
			want: "kubectl-aksoidc: --issuer-url is required; --client-id is required\n",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := runCLI(t, tc.env, tc.args...)
			want := result{code: 1, stderr: tc.want}
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
