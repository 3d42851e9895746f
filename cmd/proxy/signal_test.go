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
	go func() { _, _ = io.Copy(io.Discard, stderr) }()

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
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var exit *exec.ExitError
		if errors.As(err, &exit) || err != nil {
			t.Errorf("proxy exited with %v, want 0", err)
		}
	case <-time.After(15 * time.Second):
		t.Errorf("proxy still running 15s after SIGTERM")
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
