package plugin_test

import (
	"bufio"
	"bytes"
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aksoidc/aksoidc/test/dextest"
)

// devicePrompt is the line get-token prints for the device-code flow.
var devicePrompt = regexp.MustCompile(`^Open (\S+) and (?:confirm|enter) the code (\S+) to log in\.$`)

// formAction finds the target of the form on Dex's verification page.
var formAction = regexp.MustCompile(`<form method="post" action="([^"]+)"`)

// TestDeviceCodeLogin signs in with the device-code flow while the test plays
// the user in a "browser" elsewhere: it reads the URL and code from stderr and
// confirms the code at Dex while the plugin polls.
func TestDeviceCodeLogin(t *testing.T) {
	t.Parallel()
	dex := dextest.Start(t, dextest.Options{})
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := invocation{
		args: getToken(dex.IssuerURL, dex.ClientID, t.TempDir(), "--grant-type", "device-code", "--token-cache-storage", "file"),
		env:  []string{execInfo(v1.String(), true)},
	}.command(ctx)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderrPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatalf("stderr pipe: %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start kubectl-aksoidc: %v", err)
	}
	stderr := bufio.NewReader(stderrPipe)
	prompt, err := stderr.ReadString('\n')
	if err != nil {
		t.Fatalf("read the device-code prompt from stderr: %v (read %q)", err, prompt)
	}
	m := devicePrompt.FindStringSubmatch(strings.TrimSuffix(prompt, "\n"))
	if m == nil {
		t.Fatalf("stderr line %q: want %q", prompt, devicePrompt)
	}
	confirmDeviceCode(t, m[1], m[2])

	rest, err := io.ReadAll(stderr)
	if err != nil {
		t.Fatalf("read stderr: %v", err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("kubectl-aksoidc: %v; stderr after the prompt:\n%s", err, rest)
	}
	if len(rest) != 0 {
		t.Errorf("stderr after the prompt: %q, want nothing", rest)
	}
	verifyCredential(t, dex.IssuerURL, dex.ClientID, stdout.String(), v1)
	if n := dex.Logins(); n != 1 {
		t.Errorf("Dex saw %d logins, want 1", n)
	}
}

// confirmDeviceCode does what a user does in a browser: open the
// verification page, submit the user code and sign in at the connector.
func confirmDeviceCode(t *testing.T, verificationURL, userCode string) {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatalf("cookie jar: %v", err)
	}
	hc := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	page := httpDo(t, hc, http.MethodGet, verificationURL, nil)
	if !strings.Contains(page, userCode) {
		t.Fatalf("the verification page %s does not show the code %s", verificationURL, userCode)
	}
	// Submit the page's form; Dex then sends the browser through its
	// connector to /device/callback.
	m := formAction.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("the verification page %s has no form:\n%s", verificationURL, page)
	}
	base, err := url.Parse(verificationURL)
	if err != nil {
		t.Fatalf("verification URL %q: %v", verificationURL, err)
	}
	action, err := base.Parse(html.UnescapeString(m[1]))
	if err != nil {
		t.Fatalf("form action %q: %v", m[1], err)
	}
	done := httpDo(t, hc, http.MethodPost, action.String(), url.Values{"user_code": {userCode}})
	if !strings.Contains(done, "Login Successful") {
		t.Fatalf("after confirming the code, Dex shows no success page:\n%s", done)
	}
}

// httpDo sends a request, follows redirects and returns the final page.
func httpDo(t *testing.T, hc *http.Client, method, target string, form url.Values) string {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(t.Context(), method, target, body)
	if err != nil {
		t.Fatalf("request %s %s: %v", method, target, err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close() //nolint:errcheck // read fully below
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, target, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s ended at %s with HTTP %s:\n%s", method, target, resp.Request.URL, resp.Status, b)
	}
	return string(b)
}
