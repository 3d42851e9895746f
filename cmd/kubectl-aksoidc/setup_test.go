package main

import (
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aksoidc/aksoidc/pkg/setup"
	"github.com/aksoidc/aksoidc/pkg/wellknown"
	"github.com/aksoidc/aksoidc/test/oidctest"
	"github.com/aksoidc/aksoidc/test/testpki"
	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// proxyFake is how a fake proxy misbehaves; the zero value behaves.
type proxyFake struct {
	// doc replaces the discovery document; it is served as it is, unchecked.
	doc map[string]any
	// user replaces the identity the SelfSubjectReview answers with.
	user map[string]any
	// refuse, when set, is the message of a 401 Status answering the review.
	refuse string
	// scopes replaces the document's extra scopes.
	scopes []string
	// claims are the claims the document says the proxy reads.
	claims []string
	// ca, when set, signs the proxy's certificate and is what the document publishes, as in a
	// cluster (otherwise the certificate is self-signed and published as its own CA).
	ca *testpki.CA
}

// fakeProxy serves what setup needs of aksoidc-proxy: the discovery document
// and a SelfSubjectReview. The real proxy is exercised end to end elsewhere.
func fakeProxy(t *testing.T, p *oidctest.Provider, f proxyFake) (*httptest.Server, string) {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewUnstartedServer(mux)
	if f.ca != nil {
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{f.ca.Issue(t, "aksoidc-proxy").TLSCertificate(t)}, MinVersion: tls.VersionTLS12}
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if f.ca != nil {
		caPEM = f.ca.PEM
	}
	if f.scopes == nil {
		f.scopes = []string{"groups"}
	}
	doc, err := wellknown.Handler(wellknown.Document{IssuerURL: p.URL, ClientID: p.ClientID,
		ExtraScopes: f.scopes, Claims: f.claims, CertificateAuthorityData: caPEM})
	if err != nil {
		t.Fatal(err)
	}
	if f.doc != nil {
		doc = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _ = json.NewEncoder(w).Encode(f.doc) })
	}
	mux.Handle("GET "+wellknown.Path, doc)
	if f.user == nil {
		f.user = map[string]any{"username": "oidc:alice", "groups": []string{"oidc:devs", "system:authenticated"},
			"extra": map[string][]string{"aksoidc.io/client-ip": {"127.0.0.1"}}}
	}
	mux.HandleFunc("POST /apis/authentication.k8s.io/v1/selfsubjectreviews", func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ey") || f.refuse != "" {
			w.WriteHeader(http.StatusUnauthorized)
			_ = json.NewEncoder(w).Encode(map[string]any{"kind": "Status", "message": f.refuse})
			return
		}
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]any{"status": map[string]any{"userInfo": f.user}})
	})
	return srv, setup.Fingerprint(srv.Certificate().Raw)
}

func TestSetupWithServer(t *testing.T) {
	t.Parallel()
	p := oidctest.NewProvider(t, "kubectl")
	srv, fingerprint := fakeProxy(t, p, proxyFake{})
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "config")
	other := "apiVersion: v1\nkind: Config\nclusters:\n- name: other\n  cluster: {server: https://127.0.0.1:6443}\n" +
		"users:\n- name: other\n  user: {token: keep-me}\ncontexts:\n- name: other\n  context: {cluster: other, user: other}\ncurrent-context: other\n"
	if err := os.WriteFile(kubeconfig, []byte(other), 0o600); err != nil {
		t.Fatal(err)
	}
	// The user's kuberc lets kubectl run only the credential plugins it lists (kubectl 1.35+).
	kuberc := filepath.Join(dir, "kuberc")
	if err := os.WriteFile(kuberc, []byte("apiVersion: kubectl.config.k8s.io/v1beta1\nkind: Preference\n"+
		"credentialPluginPolicy: Allowlist\ncredentialPluginAllowlist:\n- name: /usr/bin/kubelogin\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	loginFlags := []string{"--grant-type", "device-code", "--certificate-authority", p.CAFile,
		"--token-cache-storage", "file", "--token-cache-dir", filepath.Join(dir, "cache")}
	got := runCLI(t, map[string]string{"KUBERC": kuberc}, append([]string{"setup", "--server", srv.URL, "--trust-fingerprint", fingerprint,
		"--kubeconfig", kubeconfig, "--name", "dev"}, loginFlags...)...)
	cfg, err := clientcmd.LoadFromFile(kubeconfig)
	if err != nil {
		t.Fatalf("%v; setup said %+v", err, got)
	}
	checkKubeconfig(t, cfg, srv.URL)
	command := cfg.AuthInfos["dev"].Exec.Command
	wantOut := fmt.Sprintf("The proxy at %s signs users in at %s (client kubectl).\n"+
		"Logged in at %q as \"alice\" (email \"alice@example.com\", groups [\"devs\"]).\n"+
		"Through the proxy, the cluster sees you as user \"oidc:alice\", groups [\"oidc:devs\" \"system:authenticated\"], client IP \"127.0.0.1\".\n"+
		"Wrote cluster, user and context \"dev\" to %s. Try: kubectl --context dev auth whoami\n", srv.URL, p.URL, p.URL, kubeconfig)
	wantErr := "Open " + p.URL + "/device and enter the code ABCD-EFGH to log in.\n" +
		fmt.Sprintf("Added %q to credentialPluginAllowlist in %q: that kuberc lets kubectl run only the credential plugins it lists.\n", command, kuberc)
	if diff := cmp.Diff(result{stdout: wantOut, stderr: wantErr}, got, cmp.AllowUnexported(result{})); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	if b, _ := os.ReadFile(kuberc); !strings.Contains(string(b), fmt.Sprintf("- name: %q", command)) {
		t.Errorf("kuberc after setup lacks the plugin %s:\n%s", command, b)
	}

	// kubectl runs exactly the written command: it must find the cached token.
	res := runCLI(t, nil, cfg.AuthInfos["dev"].Exec.Args...)
	if res.code != 0 || p.Logins() != 1 || !strings.Contains(res.stdout, `"token":"ey`) {
		t.Errorf("the kubeconfig's get-token did not use the setup login: logins=%d %+v", p.Logins(), res.stderr)
	}
}

func checkKubeconfig(t *testing.T, cfg *clientcmdapi.Config, server string) {
	t.Helper()
	if cfg.CurrentContext != "other" || cfg.AuthInfos["other"].Token != "keep-me" || cfg.Clusters["other"] == nil {
		t.Errorf("setup changed the other entries or the current context: %+v", cfg)
	}
	if c := cfg.Clusters["dev"]; c == nil || c.Server != server || len(c.CertificateAuthorityData) == 0 {
		t.Errorf("cluster dev = %+v", c)
	}
	if c := cfg.Contexts["dev"]; c == nil || c.Cluster != "dev" || c.AuthInfo != "dev" {
		t.Errorf("context dev = %+v", c)
	}
	exec := cfg.AuthInfos["dev"].Exec
	if exec == nil || exec.APIVersion != "client.authentication.k8s.io/v1" || !exec.ProvideClusterInfo ||
		exec.InteractiveMode != clientcmdapi.IfAvailableExecInteractiveMode || !filepath.IsAbs(exec.Command) {
		t.Fatalf("user dev exec = %+v", exec)
	}
	for _, forbidden := range []string{"--server", "--kubeconfig", "--trust-fingerprint", "--name"} {
		for _, a := range exec.Args {
			if strings.HasPrefix(a, forbidden+"=") {
				t.Errorf("setup's own flag %s leaked into the exec args %q", forbidden, exec.Args)
			}
		}
	}
}

func TestSetupRefusesAnUntrustedProxy(t *testing.T) {
	t.Parallel()
	p := oidctest.NewProvider(t, "kubectl")
	srv, fingerprint := fakeProxy(t, p, proxyFake{})
	cases := []struct {
		name string
		args []string
		code int // 1: refused while running; 2: a bad flag
		want string
	}{
		{"wrong fingerprint", []string{"--trust-fingerprint", "SHA256:00"}, 1,
			"kubectl-aksoidc: --trust-fingerprint: the proxy's certificate has fingerprint " + fingerprint + "\n"},
		{"nobody to ask", nil, 1, "No known CA verifies the certificate of " + srv.URL + ".\nIts fingerprint is " + fingerprint +
			"\nTrust it? [y/N] kubectl-aksoidc: the proxy's certificate is not verified by a known CA: pass " +
			"--server-certificate-authority or --trust-fingerprint " + fingerprint + "\n"},
		{"plain http", []string{"--server", "http://127.0.0.1:1"}, 2, "kubectl-aksoidc: --server \"http://127.0.0.1:1\": want an https URL\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"setup", "--server", srv.URL, "--kubeconfig", filepath.Join(t.TempDir(), "config")}, tc.args...)
			got := runCLI(t, nil, args...)
			if diff := cmp.Diff(result{code: tc.code, stderr: tc.want}, got, cmp.AllowUnexported(result{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestSetupNamesTheCAThePagePublishes: when the proxy's certificate comes from the CA its
// discovery document (and onboarding page) publishes, setup shows that CA's fingerprint too and
// --trust-fingerprint pins either; the CA's outlives the certificate's renewals.
func TestSetupNamesTheCAThePagePublishes(t *testing.T) {
	t.Parallel()
	p := oidctest.NewProvider(t, "kubectl")
	ca := testpki.NewCA(t, "proxy CA")
	srv, fingerprint := fakeProxy(t, p, proxyFake{ca: ca})
	block, _ := pem.Decode(ca.PEM)
	caFingerprint := setup.Fingerprint(block.Bytes)
	prompt := "No known CA verifies the certificate of " + srv.URL + ".\nIts fingerprint is " + fingerprint +
		"\nIt is signed by the CA the server's discovery document names: " + caFingerprint + "\nCompare it with what your platform team " +
		"published (the onboarding page, if you opened it over a connection you trust).\nTrust it? [y/N] "
	login := "Open " + p.URL + "/device and enter the code ABCD-EFGH to log in.\n"
	cases := []struct {
		name  string
		args  []string
		stdin string
		want  result
	}{
		{"asked, yes", nil, "y\n", result{code: 0, stderr: prompt + login}},
		{"asked, nobody to answer", nil, "", result{code: 1, stderr: prompt + "kubectl-aksoidc: the proxy's certificate is not " +
			"verified by a known CA: pass --server-certificate-authority or --trust-fingerprint " + caFingerprint + "\n"}},
		{"the CA's fingerprint pinned", []string{"--trust-fingerprint", strings.ToLower(caFingerprint)}, "", result{code: 0, stderr: login}},
		{"the certificate's fingerprint pinned", []string{"--trust-fingerprint", fingerprint}, "", result{code: 0, stderr: login}},
		{"another fingerprint pinned", []string{"--trust-fingerprint", "SHA256:00"}, "", result{code: 1, stderr: "kubectl-aksoidc: " +
			"--trust-fingerprint: the proxy's certificate has fingerprint " + fingerprint + " and its CA " + caFingerprint + "\n"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			args := append([]string{"setup", "--server", srv.URL, "--kubeconfig", filepath.Join(dir, "config"),
				"--grant-type", "device-code", "--certificate-authority", p.CAFile,
				"--token-cache-storage", "file", "--token-cache-dir", dir}, tc.args...)
			got := runCLIWithStdin(t, tc.stdin, nil, args...)
			got.stdout = ""
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(result{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if tc.want.code != 0 {
				return
			}
			cfg, err := clientcmd.LoadFromFile(filepath.Join(dir, "config"))
			if err != nil {
				t.Fatal(err)
			}
			for name, c := range cfg.Clusters {
				if string(c.CertificateAuthorityData) != string(ca.PEM) {
					t.Errorf("cluster %s trusts %q, want the published CA", name, c.CertificateAuthorityData)
				}
			}
		})
	}
}

func TestSetupTrustsOnFirstUseOnlyWhenTheUserSaysYes(t *testing.T) {
	t.Parallel()
	p := oidctest.NewProvider(t, "kubectl")
	srv, fingerprint := fakeProxy(t, p, proxyFake{})
	prompt := "No known CA verifies the certificate of " + srv.URL + ".\nIts fingerprint is " + fingerprint + "\nTrust it? [y/N] "
	for _, tc := range []struct {
		answer   string
		wantCode int
		wantErr  string
	}{
		{answer: "y\n", wantCode: 0, wantErr: prompt + "Open " + p.URL + "/device and enter the code ABCD-EFGH to log in.\n"},
		{answer: "n\n", wantCode: 1, wantErr: prompt + "kubectl-aksoidc: the certificate of " + srv.URL + " was not trusted\n"},
	} {
		t.Run(strings.TrimSpace(tc.answer), func(t *testing.T) {
			dir := t.TempDir()
			got := runCLIWithStdin(t, tc.answer, nil, "setup", "--server", srv.URL, "--kubeconfig", filepath.Join(dir, "config"),
				"--grant-type", "device-code", "--certificate-authority", p.CAFile,
				"--token-cache-storage", "file", "--token-cache-dir", dir)
			if got.code != tc.wantCode || got.stderr != tc.wantErr {
				t.Errorf("exit %d, stderr %q\nwant exit %d, stderr %q", got.code, got.stderr, tc.wantCode, tc.wantErr)
			}
			_, err := os.Stat(filepath.Join(dir, "config"))
			if wrote := err == nil; wrote != (tc.wantCode == 0) {
				t.Errorf("kubeconfig written: %v, want %v", wrote, tc.wantCode == 0)
			}
		})
	}
}

// TestSetupWritesEveryValueAsOneArg: a client ID or scope with commas from
// the discovery document, and the user's own JSON parameter, each stay one
// exec arg; none becomes a flag of its own (a --browser-command would run at
// the next login).
func TestSetupWritesEveryValueAsOneArg(t *testing.T) {
	t.Parallel()
	clientID := "kubectl,--browser-command=/bin/sh,-c,touch,pwned"
	p := oidctest.NewProvider(t, clientID)
	srv, fingerprint := fakeProxy(t, p, proxyFake{scopes: []string{"groups,--v=9", "email"}})
	dir := t.TempDir()
	kubeconfig, cache := filepath.Join(dir, "config"), filepath.Join(dir, "cache")
	claims := `claims={"id_token":{"groups":null}}`
	got := runCLI(t, nil, "setup", "--server", srv.URL, "--trust-fingerprint", fingerprint, "--kubeconfig", kubeconfig,
		"--name", "dev", "--grant-type", "device-code", "--certificate-authority", p.CAFile, "--auth-request-extra-param", claims,
		"--token-cache-storage", "file", "--token-cache-dir", cache)
	if got.code != 0 {
		t.Fatalf("setup: %+v", got)
	}
	cfg, err := clientcmd.LoadFromFile(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"get-token", "--issuer-url=" + p.URL, "--client-id=" + clientID, "--extra-scope=groups,--v=9",
		"--extra-scope=email", "--auth-request-extra-param=" + claims, "--certificate-authority=" + p.CAFile,
		"--grant-type=device-code", "--token-cache-dir=" + cache, "--token-cache-storage=file"}
	if diff := cmp.Diff(want, cfg.AuthInfos["dev"].Exec.Args); diff != "" {
		t.Errorf("exec args (-want +got):\n%s", diff)
	}
	res := runCLI(t, nil, cfg.AuthInfos["dev"].Exec.Args...)
	if res.code != 0 || p.Logins() != 1 {
		t.Errorf("the kubeconfig's get-token did not use the setup login: logins=%d %+v", p.Logins(), res.stderr)
	}
}

// TestSetupRefusesABadDiscoveryDocument: every bad field is named at once,
// before the user is asked to trust the proxy or to log in, and nothing is
// written.
func TestSetupRefusesABadDiscoveryDocument(t *testing.T) {
	t.Parallel()
	p := oidctest.NewProvider(t, "kubectl")
	srv, _ := fakeProxy(t, p, proxyFake{doc: map[string]any{
		"issuerURL": "http://evil.example/", "clientID": "--browser-command=sh", "extraScopes": []string{"groups openid"},
		"certificateAuthorityData": []byte("not PEM"),
	}})
	kubeconfig := filepath.Join(t.TempDir(), "config")
	got := runCLI(t, nil, "setup", "--server", srv.URL, "--kubeconfig", kubeconfig, "--grant-type", "device-code")
	want := "kubectl-aksoidc: discover " + srv.URL + "/.well-known/aksoidc: " +
		`issuerURL "http://evil.example/": plain http is allowed only for a loopback host; use https; ` +
		`clientID "--browser-command=sh": must not start with '-'; ` +
		`extraScopes[0] "groups openid": byte 6 (' ') is not allowed in an RFC 6749 scope token; ` +
		"certificateAuthorityData: holds no PEM certificate\n"
	if diff := cmp.Diff(result{code: 1, stderr: want}, got, cmp.AllowUnexported(result{})); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := os.Stat(kubeconfig); err == nil || p.Logins() != 0 {
		t.Errorf("setup wrote a kubeconfig (%v) or logged in (%d times) on a bad document", err == nil, p.Logins())
	}
}

// TestSetupEscapesWhatTheServersSay: claims from the identity provider and
// the identity or error from the proxy reach the terminal quoted, with their
// escape sequences shown, not obeyed.
func TestSetupEscapesWhatTheServersSay(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		proxy   proxyFake
		wantOut string // after the discovery line; %s is the issuer
		wantErr string // after the device prompt; %s is the proxy
	}{
		{name: "identity", proxy: proxyFake{user: map[string]any{"username": "alice\x1b[2J", "groups": []string{"\x1b]0;pwned\a"}}},
			wantOut: "Logged in at %q as \"alice\\x1b[H\" (email \"\\u009b31m@example.com\", groups [\"devs\\r\\nroot\"]).\n" +
				"Through the proxy, the cluster sees you as user \"alice\\x1b[2J\", groups [\"\\x1b]0;pwned\\a\"].\n"},
		{name: "review refused", proxy: proxyFake{refuse: "token expired\x1b[1A\x1b[2K"},
			wantOut: "Logged in at %q as \"alice\\x1b[H\" (email \"\\u009b31m@example.com\", groups [\"devs\\r\\nroot\"]).\n",
			wantErr: "kubectl-aksoidc: self subject review at %s: HTTP 401 Unauthorized: \"token expired\\x1b[1A\\x1b[2K\"\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := oidctest.NewProvider(t, "kubectl")
			p.SetMutate(func(c map[string]any) {
				c["sub"], c["email"], c["groups"] = "alice\x1b[H", "\u009b31m@example.com", []string{"devs\r\nroot"}
			})
			srv, fingerprint := fakeProxy(t, p, tc.proxy)
			dir := t.TempDir()
			got := runCLI(t, nil, "setup", "--server", srv.URL, "--trust-fingerprint", fingerprint, "--kubeconfig",
				filepath.Join(dir, "config"), "--name", "dev", "--grant-type", "device-code", "--certificate-authority", p.CAFile,
				"--token-cache-storage", "file", "--token-cache-dir", dir)
			discovered := fmt.Sprintf("The proxy at %s signs users in at %s (client kubectl).\n", srv.URL, p.URL)
			out := discovered + fmt.Sprintf(tc.wantOut, p.URL)
			errOut := "Open " + p.URL + "/device and enter the code ABCD-EFGH to log in.\n"
			code := 1
			if tc.wantErr == "" {
				code = 0
				out += "Wrote cluster, user and context \"dev\" to " + filepath.Join(dir, "config") + ". Try: kubectl --context dev auth whoami\n"
			} else {
				errOut += fmt.Sprintf(tc.wantErr, srv.URL)
			}
			if diff := cmp.Diff(result{code: code, stdout: out, stderr: errOut}, got, cmp.AllowUnexported(result{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestSetupNamesTheClaimsTheTokenLacks: when the proxy refuses the token, setup
// says which of the claims the proxy reads the token lacks, and writes nothing.
func TestSetupNamesTheClaimsTheTokenLacks(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		claims  []string // the discovery document's
		drop    []string // claims the issuer leaves out
		wantErr string   // after the HTTP status; %s is the proxy
	}{
		{name: "lacks two", claims: []string{"email", "groups", "sub"}, drop: []string{"email", "groups"},
			wantErr: `; the proxy reads the claims ["email" "groups" "sub"] and the token lacks ["email" "groups"] ` +
				"(an identity provider adds claims for the scopes asked for, --extra-scope, or by its own settings); no kubeconfig was written"},
		{name: "a null claim is lacking", claims: []string{"groups"}, drop: []string{"groups=null"},
			wantErr: `; the proxy reads the claims ["groups"] and the token lacks ["groups"] ` +
				"(an identity provider adds claims for the scopes asked for, --extra-scope, or by its own settings); no kubeconfig was written"},
		{name: "lacks none", claims: []string{"email", "groups"},
			wantErr: `; the token carries every claim the proxy reads (["email" "groups"]): the proxy's log says why it refused it; no kubeconfig was written`},
		{name: "a proxy that publishes no claims", claims: nil, drop: []string{"email"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := oidctest.NewProvider(t, "kubectl")
			p.SetMutate(func(c map[string]any) {
				for _, d := range tc.drop {
					if name, ok := strings.CutSuffix(d, "=null"); ok {
						c[name] = nil
					} else {
						delete(c, d)
					}
				}
			})
			srv, fingerprint := fakeProxy(t, p, proxyFake{refuse: "Unauthorized", claims: tc.claims})
			dir := t.TempDir()
			got := runCLI(t, nil, "setup", "--server", srv.URL, "--trust-fingerprint", fingerprint, "--kubeconfig",
				filepath.Join(dir, "config"), "--grant-type", "device-code", "--certificate-authority", p.CAFile,
				"--token-cache-storage", "file", "--token-cache-dir", dir)
			wantErr := "Open " + p.URL + "/device and enter the code ABCD-EFGH to log in.\n" +
				"kubectl-aksoidc: self subject review at " + srv.URL + `: HTTP 401 Unauthorized: "Unauthorized"` + tc.wantErr + "\n"
			if diff := cmp.Diff(wantErr, got.stderr); diff != "" || got.code != 1 {
				t.Errorf("exit code %d, stderr (-want +got):\n%s", got.code, diff)
			}
			if _, err := os.Stat(filepath.Join(dir, "config")); !os.IsNotExist(err) {
				t.Errorf("setup wrote a kubeconfig for a refused token (stat: %v)", err)
			}
		})
	}
}
