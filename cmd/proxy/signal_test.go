package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aksoidc/aksoidc/test/oidctest"
	"github.com/aksoidc/aksoidc/test/poll"
	"github.com/aksoidc/aksoidc/test/syncbuf"
	"github.com/aksoidc/aksoidc/test/testpki"
)

// TestSIGTERMEndsAWatchCleanly runs the built binary, so that main's signal handling is what
// is tested.
func TestSIGTERMEndsAWatchCleanly(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "aksoidc-proxy")
	if out, err := exec.CommandContext(t.Context(), "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var healthy atomic.Bool
	healthy.Store(true)
	iss := oidctest.New(t)
	ca := newTestCA(t)
	ca.issue(t)
	cmd := exec.CommandContext(t.Context(), bin, append(oidcFlags(iss, "oidc:"), "--kubeconfig="+fakeAPIServer(t, &healthy),
		"--tls-cert-file="+ca.Cert, "--tls-private-key-file="+ca.Key, "--bind-address=127.0.0.1",
		"--secure-port=0", "--probe-port=0", "--shutdown-grace=10s")...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	url := readServingURL(t, stderr)
	var logs syncbuf.Buffer
	logged := make(chan struct{}) // closed at the end of stderr: the proxy has exited
	go func() {
		_, _ = io.Copy(&logs, stderr)
		close(logged)
	}()

	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url+"/api/v1/pods?watch=true", nil)
	req.Header.Set("Authorization", "Bearer "+aliceToken(t, iss, nil))
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: testpki.ClientConfig(t, ca.PEM)}}
	poll.Until(t, 20*time.Second, func() bool { // until the issuer's keys have loaded
		r, err := client.Do(req.Clone(req.Context()))
		if err != nil {
			return false
		}
		_ = r.Body.Close()
		return r.StatusCode == http.StatusOK
	})
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Errorf("the watch ended with %v, want a clean end of stream", err)
	}
	select {
	case <-logged:
	case <-time.After(15 * time.Second): // --shutdown-grace is 10s: a hang, not a slow exit
		t.Fatalf("proxy still running 15s after SIGTERM; its log:\n%s", logs.String())
	}
	// Wait only after stderr is read to its end (os/exec's rule for StderrPipe).
	err = cmd.Wait()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	// A process killed by a signal has no exit code (-1): main must have returned 0 itself.
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("proxy exited with code %d (%v) after SIGTERM, want 0; its log:\n%s", code, cmd.ProcessState, logs.String())
	}
}

func readServingURL(t *testing.T, stderr io.Reader) string {
	t.Helper()
	lines := bufio.NewScanner(stderr)
	for lines.Scan() {
		var m struct{ Msg, Secure string }
		if json.Unmarshal(lines.Bytes(), &m) == nil && m.Msg == "serving" {
			return "https://" + m.Secure
		}
		if strings.Contains(lines.Text(), `"level":"ERROR"`) {
			t.Fatalf("proxy: %s", lines.Text())
		}
	}
	t.Fatal("proxy exited before serving")
	return ""
}
