package plugin_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/aksoidc/aksoidc/test/dextest"
	"github.com/aksoidc/aksoidc/test/kubetest"
	"github.com/aksoidc/aksoidc/test/poll"
	"github.com/aksoidc/aksoidc/test/syncbuf"
	"github.com/aksoidc/aksoidc/test/testpki"
	"github.com/aksoidc/aksoidc/test/tooldir"
)

// TestSetupThroughTheProxyWithDex: a proxy configured with nothing but the claims it maps
// (username from email, groups from groups) publishes the scopes behind them, so `kubectl
// aksoidc setup --server` gets a token from a real Dex that the proxy accepts, and kubectl works
// through the kubeconfig it writes. A proxy told to publish no scopes gets a token without those
// claims, and setup says so instead of writing a kubeconfig.
func TestSetupThroughTheProxyWithDex(t *testing.T) {
	t.Parallel()
	cluster := kubetest.Start(t)
	dex := dextest.Start(t, dextest.Options{TLS: true, ClientID: "kubectl-aksoidc"})
	// Chromium does not know the throw-away CA that signs Dex's certificate; this profile only
	// ever visits 127.0.0.1.
	b := newBrowser(t, "--ignore-certificate-errors")
	config := []string{"--oidc-issuer-url=" + dex.IssuerURL, "--oidc-client-id=" + dex.ClientID, "--oidc-ca-file=" + dex.CAFile,
		"--oidc-username-claim=email", "--oidc-groups-claim=groups"}
	dir := t.TempDir()
	login := func(p proxyProcess, name string) (invocation, string) {
		kubeconfig := filepath.Join(dir, name+".kubeconfig")
		return invocation{args: []string{"setup", "--server", p.url, "--server-certificate-authority", p.caFile,
			"--kubeconfig", kubeconfig, "--name", name, "--exec-command", pluginPath,
			"--certificate-authority", dex.CAFile, "--browser-command", b.command, "--listen-address", "127.0.0.1:0",
			"--token-cache-storage", "file", "--token-cache-dir", filepath.Join(dir, name+"-cache"),
			`--auth-request-extra-param=claims={"id_token":{"groups":null}}`}}, kubeconfig
	}

	p := startProxy(t, cluster.ProxyKubeconfig, config...)
	setup, kubeconfig := login(p, "e2e")
	got := setup.succeed(t).stdout
	want := fmt.Sprintf("The proxy at %s signs users in at %s (client kubectl-aksoidc).\n", p.url, dex.IssuerURL) +
		fmt.Sprintf("Logged in at %q as %q (email %q, groups [%q]).\n", dex.IssuerURL, dexSubject(), dextest.MockEmail, dextest.MockGroup) +
		fmt.Sprintf("Through the proxy, the cluster sees you as user %q, groups [%q \"system:authenticated\"], client IP \"127.0.0.1\".\n",
			dextest.MockEmail, dextest.MockGroup) +
		fmt.Sprintf("Wrote cluster, user and context \"e2e\" to %s. Try: kubectl --context e2e auth whoami\n", kubeconfig)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("setup's output (-want +got):\n%s", diff)
	}
	checkExecArgs(t, kubeconfig, setup.args, dex.IssuerURL)
	whoami := "ATTRIBUTE                     VALUE\n" +
		"Username                      " + dextest.MockEmail + "\n" +
		"Groups                        [" + dextest.MockGroup + " system:authenticated]\n" +
		"Extra: aksoidc.io/client-ip   [127.0.0.1]\n"
	if diff := cmp.Diff(whoami, kubectl(t, cluster, kubeconfig, "auth", "whoami")); diff != "" {
		t.Errorf("kubectl auth whoami through the written kubeconfig (-want +got):\n%s", diff)
	}
	assertCounts(t, "after setup and kubectl", dex.Logins(), 1, b.launches(t), 1)

	none := startProxy(t, cluster.ProxyKubeconfig, append(config, "--discovery-extra-scopes=")...)
	setup, kubeconfig = login(none, "none")
	r := setup.run(t)
	wantErr := "kubectl-aksoidc: self subject review at " + none.url + `: HTTP 401 Unauthorized: "Unauthorized"; ` +
		`the proxy reads the claims ["email" "groups"] and the token lacks ["email" "groups"] ` +
		"(an identity provider adds claims for the scopes asked for, --extra-scope, or by its own settings); no kubeconfig was written\n"
	if diff := cmp.Diff(wantErr, r.stderr); diff != "" || r.exitCode != 1 {
		t.Errorf("setup against a proxy publishing no scopes: exit code %d, stderr (-want +got):\n%s", r.exitCode, diff)
	}
	if _, err := os.Stat(kubeconfig); !os.IsNotExist(err) {
		t.Errorf("setup wrote a kubeconfig for a token the proxy refused (stat: %v)", err)
	}
}

// dexSubject is the sub claim Dex gives its mock user: the base64url (unpadded) protobuf of
// the user ID (field 1) and the connector ID "mock" (field 2).
func dexSubject() string {
	b := append([]byte{0x0a, byte(len(dextest.MockUserID))}, dextest.MockUserID...)
	b = append(append(b, 0x12, byte(len("mock"))), "mock"...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// checkExecArgs reads the kubeconfig with client-go, as kubectl does, and wants get-token's
// arguments exactly: what discovery supplied, then every login flag of setup's command line.
func checkExecArgs(t *testing.T, kubeconfig string, setupArgs []string, issuerURL string) {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(kubeconfig)
	if err != nil {
		t.Fatalf("client-go cannot load the written kubeconfig: %v", err)
	}
	flag := func(name string) string {
		for i, a := range setupArgs {
			if a == "--"+name {
				return "--" + name + "=" + setupArgs[i+1]
			}
		}
		t.Fatalf("setup had no --%s", name)
		return ""
	}
	want := []string{"get-token", "--issuer-url=" + issuerURL, "--client-id=kubectl-aksoidc", "--extra-scope=email", "--extra-scope=groups",
		`--auth-request-extra-param=claims={"id_token":{"groups":null}}`, flag("browser-command"), flag("certificate-authority"),
		"--listen-address=127.0.0.1:0", flag("token-cache-dir"), "--token-cache-storage=file"}
	user := cfg.AuthInfos["e2e"]
	if user == nil || user.Exec == nil {
		t.Fatalf("the kubeconfig has no exec user e2e: %+v", cfg.AuthInfos)
	}
	if diff := cmp.Diff(want, user.Exec.Args); diff != "" || user.Exec.Command != pluginPath {
		t.Errorf("exec command %q, args (-want +got):\n%s", user.Exec.Command, diff)
	}
}

// kubectl runs the pinned kubectl with kubeconfig, which runs the plugin from it.
func kubectl(t *testing.T, cluster *kubetest.Cluster, kubeconfig string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, cluster.KubectlPath, append([]string{"--kubeconfig", kubeconfig}, args...)...)
	cmd.Env = environ(nil)
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if e, ok := err.(*exec.ExitError); ok { //nolint:errorlint // Output returns it unwrapped
			stderr = e.Stderr
		}
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return string(out)
}

// proxyProcess is a running aksoidc-proxy binary.
type proxyProcess struct {
	url    string
	caFile string // the CA of its serving certificate, which it also publishes
}

// proxyBinary builds aksoidc-proxy once, into TestMain's build dir, for the tests that need it.
var proxyBinary = sync.OnceValues(func() (string, error) {
	root, err := tooldir.RepoRoot()
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	path := filepath.Join(buildDir, "aksoidc-proxy")
	build := exec.CommandContext(ctx, "go", "build", "-o", path, "./cmd/proxy")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build aksoidc-proxy: %w\n%s", err, out)
	}
	return path, nil
})

// startProxy runs aksoidc-proxy on loopback ports of its choosing, with a serving certificate
// of a throw-away CA, and returns once /readyz says ready. It stops when the test ends.
func startProxy(t *testing.T, kubeconfig string, args ...string) proxyProcess {
	t.Helper()
	bin, err := proxyBinary()
	if err != nil {
		t.Fatal(err)
	}
	ca := testpki.NewCA(t, "aksoidc-proxy e2e CA")
	pair := ca.Issue(t, "aksoidc-proxy")
	dir := t.TempDir()
	p := proxyProcess{caFile: filepath.Join(dir, "ca.pem")}
	for name, data := range map[string][]byte{"ca.pem": ca.PEM, "tls.crt": pair.CertPEM, "tls.key": pair.KeyPEM} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, append([]string{"--kubeconfig=" + kubeconfig, "--bind-address=127.0.0.1", "--secure-port=0", "--probe-port=0",
		"--tls-cert-file=" + filepath.Join(dir, "tls.crt"), "--tls-private-key-file=" + filepath.Join(dir, "tls.key"),
		"--discovery-ca-file=" + p.caFile, "--readiness-check-interval=100ms", "--shutdown-grace=5s"}, args...)...)
	// Stopped as in a pod: SIGTERM, then SIGKILL if it is still running 20s later.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 20 * time.Second
	logs := &syncbuf.Buffer{Max: 4 << 20}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start aksoidc-proxy: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { cancel(); <-exited })
	var probe string
	poll.Until(t, 30*time.Second, func() bool {
		select {
		case <-exited:
			t.Fatalf("aksoidc-proxy exited:\n%s", logs.String())
		default:
		}
		p.url, probe = servingAddrs(logs.String())
		return p.url != ""
	})
	poll.Until(t, 30*time.Second, func() bool { return httpStatus(t, probe+"/readyz") == http.StatusOK })
	return p
}

// servingAddrs finds the proxy's "serving" log line and returns its two URLs.
func servingAddrs(logs string) (secure, probe string) {
	for line := range strings.Lines(logs) {
		var m struct{ Msg, Secure, Probe string }
		if json.Unmarshal([]byte(line), &m) == nil && m.Msg == "serving" {
			return "https://" + m.Secure, "http://" + m.Probe
		}
	}
	return "", ""
}

func httpStatus(t *testing.T, url string) int {
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}
