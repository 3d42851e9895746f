package plugin_test

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aksoidc/aksoidc/test/dextest"
	"github.com/aksoidc/aksoidc/test/kubetest"
	"github.com/aksoidc/aksoidc/test/loopback"
	"github.com/aksoidc/aksoidc/test/testpki"
)

// TestOnboardingPageAndKubeconfig: a browser opening the proxy's URL gets the onboarding page,
// which headless Chromium renders under the page's CSP (its script ran, its style applied, no
// console message); the kubeconfig the page offers works as it is: kubectl runs the plugin from
// PATH, which logs in at Dex in the browser, and `kubectl auth whoami` goes through the proxy.
func TestOnboardingPageAndKubeconfig(t *testing.T) {
	t.Parallel()
	cluster := kubetest.Start(t)
	dex := dextest.Start(t, dextest.Options{TLS: true, ClientID: "kubectl-aksoidc"})
	// The page's URL is configuration, so the port must be known before the proxy starts.
	port := loopback.Port(t)
	url := fmt.Sprintf("https://127.0.0.1:%d", port)
	p := startProxy(t, cluster.ProxyKubeconfig, "--oidc-issuer-url="+dex.IssuerURL, "--oidc-client-id="+dex.ClientID,
		"--oidc-ca-file="+dex.CAFile, "--oidc-username-claim=email", "--oidc-groups-claim=groups",
		fmt.Sprintf("--secure-port=%d", port), "--onboarding-server-url="+url,
		"--onboarding-display-name=E2E <cluster>", "--onboarding-message=Help: #k8s-help")
	if p.url != url {
		t.Fatalf("the proxy serves at %s, not %s", p.url, url)
	}

	// Without a token only a browser's visit is the page's; kubectl's and curl's are refused as
	// before, and the API server never sees them.
	type answer struct {
		Status      int
		ContentType string
	}
	got := map[string]answer{}
	want := map[string]answer{
		"GET / as a browser": {200, "text/html; charset=utf-8"}, "HEAD / as a browser": {200, "text/html; charset=utf-8"},
		"GET / as kubectl get --raw": {401, "application/json"}, "GET / as curl": {401, "application/json"},
		"GET /kubeconfig as curl": {200, "application/yaml; charset=utf-8"},
	}
	for name, r := range map[string]struct{ method, path, accept string }{
		"GET / as a browser": {"GET", "/", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}, "HEAD / as a browser": {"HEAD", "/", "text/html"},
		"GET / as kubectl get --raw": {"GET", "/", "application/json, */*"}, "GET / as curl": {"GET", "/", "*/*"},
		"GET /kubeconfig as curl": {"GET", "/kubeconfig", "*/*"},
	} {
		status, header, _ := request(t, r.method, url+r.path, r.accept, p.caFile)
		got[name] = answer{status, header.Get("Content-Type")}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("answers without a token (-want +got):\n%s", diff)
	}

	dom := chromium(t, "--dump-dom", url)
	for _, want := range []string{
		`<body data-script="ran" data-style="applied">`, // the CSP let the page's own script and style run
		`<h1 id="display-name">E2E &lt;cluster&gt;</h1>`,
		`<p class="message" id="message">Help: #k8s-help</p>`,
		`<code id="server-url">` + url + `</code>`,
		"<code>" + caFingerprint(t, p.caFile) + "</code>",
		`<pre id="setup-command">kubectl aksoidc setup --server ` + url + `</pre><button type="button" id="copy">Copy</button>`,
		`<a class="button" id="kubeconfig" href="/kubeconfig" download="aksoidc-127.0.0.1.kubeconfig">`,
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("the rendered page lacks %s:\n%s", want, dom)
		}
	}
	screenshot := filepath.Join(t.ArtifactDir(), "onboarding.png")
	chromium(t, "--screenshot="+screenshot, "--window-size=1000,1300", "--hide-scrollbars", url)
	if fi, err := os.Stat(screenshot); err != nil || fi.Size() == 0 {
		t.Errorf("no screenshot: %v", err)
	}
	t.Logf("screenshot of the onboarding page: %s", screenshot)

	kubeconfig := filepath.Join(t.TempDir(), "aksoidc-127.0.0.1.kubeconfig")
	if err := os.WriteFile(kubeconfig, download(t, url+"/kubeconfig", p.caFile), 0o600); err != nil {
		t.Fatal(err)
	}
	u := kubectlUser{kubeconfig: kubeconfig, browser: newBrowser(t, "--ignore-certificate-errors"), issuerCA: dex.CAFile, cache: t.TempDir()}
	whoami := "ATTRIBUTE                     VALUE\n" +
		"Username                      " + dextest.MockEmail + "\n" +
		"Groups                        [" + dextest.MockGroup + " system:authenticated]\n" +
		"Extra: aksoidc.io/client-ip   [127.0.0.1]\n"
	if diff := cmp.Diff(whoami, u.succeed(t, cluster, "auth", "whoami")); diff != "" {
		t.Errorf("kubectl auth whoami with the downloaded kubeconfig (-want +got):\n%s", diff)
	}
	// With a token, / is the API server's, as before (kubectl's Accept does not prefer HTML):
	// its RBAC answers, for the user the proxy impersonates.
	_, stderr, err := u.run(t, cluster, "get", "--raw", "/")
	wantRaw := `Error from server (Forbidden): forbidden: User "` + dextest.MockEmail + `" cannot get path "/"` + "\n"
	if diff := cmp.Diff(wantRaw, stderr); diff != "" || err == nil {
		t.Errorf("kubectl get --raw / through the proxy: %v, stderr (-want +got):\n%s", err, diff)
	}
	assertCounts(t, "after kubectl with the downloaded kubeconfig", dex.Logins(), 1, u.browser.launches(t), 1)
}

// chromium runs headless Chromium on a fresh profile and returns its stdout. The proxy's
// certificate is of a throw-away CA this profile does not know; it only visits 127.0.0.1. Any
// console message (a CSP violation is one) fails the test.
func chromium(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	flags := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(), "--ignore-certificate-errors", "--enable-logging=stderr", "--v=0"}
	cmd := exec.CommandContext(ctx, chromiumPath(t), append(flags, args...)...)
	// The session bus is the test keyring's; Chromium has no business there.
	cmd.Env = environ([]string{"DBUS_SESSION_BUS_ADDRESS="})
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	for line := range strings.Lines(stderr.String()) {
		if strings.Contains(line, ":CONSOLE") || strings.Contains(line, "Content Security Policy") {
			t.Errorf("chromium's console: %s", line)
		}
	}
	return stdout.String()
}

func caFingerprint(t *testing.T, caFile string) string {
	t.Helper()
	b, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if _, err := x509.ParseCertificate(block.Bytes); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(block.Bytes)
	hex := make([]string, len(sum))
	for i, c := range sum {
		hex[i] = fmt.Sprintf("%02X", c)
	}
	return "SHA256:" + strings.Join(hex, ":")
}

// request sends method url with accept and no credentials, trusting caFile, and returns the
// status, headers and body.
func request(t *testing.T, method, url, accept, caFile string) (int, http.Header, []byte) {
	t.Helper()
	ca, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: testpki.ClientConfig(t, ca)}}
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", accept)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return resp.StatusCode, resp.Header, body
}

// download GETs url as curl would (Accept */*, no credentials), trusting caFile.
func download(t *testing.T, url, caFile string) []byte {
	t.Helper()
	status, _, body := request(t, http.MethodGet, url, "*/*", caFile)
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d\n%s", url, status, body)
	}
	return body
}

// kubectlUser is a user who only has the downloaded kubeconfig: kubectl finds the plugin on
// PATH, the browser is $BROWSER, the token cache is under $XDG_CACHE_HOME (a file: no keyring),
// and Dex's throw-away CA is the system's (SSL_CERT_FILE), as a company CA would be.
type kubectlUser struct {
	kubeconfig string
	browser    *browser
	issuerCA   string
	cache      string
}

func (u kubectlUser) succeed(t *testing.T, cluster *kubetest.Cluster, args ...string) string {
	t.Helper()
	stdout, stderr, err := u.run(t, cluster, args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return stdout
}

func (u kubectlUser) run(t *testing.T, cluster *kubetest.Cluster, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, cluster.KubectlPath, append([]string{"--kubeconfig", u.kubeconfig}, args...)...)
	cmd.Env = environ([]string{"PATH=" + filepath.Dir(pluginPath) + string(os.PathListSeparator) + os.Getenv("PATH"),
		"BROWSER=" + u.browser.command, "XDG_CACHE_HOME=" + u.cache, "SSL_CERT_FILE=" + u.issuerCA, "DBUS_SESSION_BUS_ADDRESS="})
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}
