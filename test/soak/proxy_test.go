package soak

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aksoidc/aksoidc/test/oidctest"
	"github.com/aksoidc/aksoidc/test/poll"
	"github.com/aksoidc/aksoidc/test/syncbuf"
	"github.com/aksoidc/aksoidc/test/testpki"
)

// proxyProc is the built proxy running as a process of its own.
type proxyProc struct {
	cmd           *exec.Cmd
	URL, ProbeURL string
	CA            *testpki.CA
	certFile      string
	keyFile       string
	Logs          *syncbuf.Buffer
	exited        chan struct{}
	exitErr       error // once exited is closed
}

// startProxy runs the proxy with --profiling, the issuer's flags and args, on ports it picks
// itself, and waits until /readyz says ready. The test's end stops it with SIGKILL if it still
// runs.
func startProxy(t testing.TB, kubeconfig string, iss *oidctest.Issuer, args ...string) *proxyProc {
	t.Helper()
	dir := t.TempDir()
	p := &proxyProc{CA: testpki.NewCA(t, "soak proxy CA"), certFile: filepath.Join(dir, "tls.crt"),
		keyFile: filepath.Join(dir, "tls.key"), Logs: &syncbuf.Buffer{Max: 8 << 20}, exited: make(chan struct{})}
	p.rotateCertificate(t)
	all := append([]string{"--kubeconfig=" + kubeconfig, "--tls-cert-file=" + p.certFile, "--tls-private-key-file=" + p.keyFile,
		"--bind-address=127.0.0.1", "--secure-port=0", "--probe-port=0", "--profiling", "--readiness-check-interval=1s",
		"--oidc-issuer-url=" + iss.URL, "--oidc-client-id=kubernetes", "--oidc-ca-file=" + iss.CAFile,
		"--oidc-username-prefix=oidc:", "--oidc-groups-claim=groups", "--oidc-groups-prefix=oidc:"}, args...)
	p.cmd = exec.CommandContext(context.Background(), proxyBinary, all...) // outlives t.Context: killed in Cleanup
	p.cmd.Stderr = p.Logs
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start the proxy: %v", err)
	}
	go func() { p.exitErr = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.exited
	})
	p.waitServing(t)
	poll.Until(t, 60*time.Second, func() bool { return p.probeStatus(t, "/readyz") == http.StatusOK })
	return p
}

// rotateCertificate writes a new serving certificate and key, renamed into place as a Secret
// volume update does.
func (p *proxyProc) rotateCertificate(t testing.TB) {
	t.Helper()
	pair := p.CA.Issue(t, "aksoidc-proxy")
	for _, f := range []struct {
		path string
		pem  []byte
	}{{p.keyFile, pair.KeyPEM}, {p.certFile, pair.CertPEM}} {
		if err := os.WriteFile(f.path+".tmp", f.pem, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(f.path+".tmp", f.path); err != nil {
			t.Fatal(err)
		}
	}
}

func (p *proxyProc) waitServing(t testing.TB) {
	t.Helper()
	poll.Until(t, 60*time.Second, func() bool {
		select {
		case <-p.exited:
			t.Fatalf("the proxy exited:\n%s", p.Logs.String())
		default:
		}
		for line := range strings.Lines(p.Logs.String()) {
			var m struct{ Msg, Secure, Probe string }
			if json.Unmarshal([]byte(line), &m) == nil && m.Msg == "serving" {
				p.URL, p.ProbeURL = "https://"+m.Secure, "http://"+m.Probe
				return true
			}
		}
		return false
	})
}

// complaints are the last n lines of the proxy's log at level WARN or ERROR.
func (p *proxyProc) complaints(n int) string {
	var lines []string
	for line := range strings.Lines(p.Logs.String()) {
		if strings.Contains(line, `"level":"WARN"`) || strings.Contains(line, `"level":"ERROR"`) {
			lines = append(lines, line)
		}
	}
	return strings.Join(lines[max(len(lines)-n, 0):], "")
}

func (p *proxyProc) probeStatus(t testing.TB, path string) int {
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, p.ProbeURL+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

func (p *proxyProc) probeBody(t testing.TB, path string) []byte {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, p.ProbeURL+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", path, resp.Status)
	}
	return body
}

// metric is one series of the proxy's /metrics, 0 when absent.
func (p *proxyProc) metric(t testing.TB, series string) float64 {
	t.Helper()
	for line := range strings.Lines(string(p.probeBody(t, "/metrics"))) {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, _ := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return v
		}
	}
	return 0
}

// usage is the proxy process's resources at one moment.
type usage struct {
	RSSKiB, PeakRSSKiB int
	// HeapMiB and StackMiB are the Go runtime's in-use heap spans and goroutine stacks.
	HeapMiB, StackMiB float64
	Goroutines        int
	FDs               int
}

func (u usage) String() string {
	return fmt.Sprintf("rss=%.1fMiB peak-rss=%.1fMiB heap=%.1fMiB stacks=%.1fMiB goroutines=%d fds=%d",
		float64(u.RSSKiB)/1024, float64(u.PeakRSSKiB)/1024, u.HeapMiB, u.StackMiB, u.Goroutines, u.FDs)
}

// usage reads RSS and its peak from /proc/PID/status, the open descriptors from /proc/PID/fd
// and the goroutines from /metrics.
func (p *proxyProc) usage(t testing.TB) usage {
	t.Helper()
	pid := p.cmd.Process.Pid
	var u usage
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	s := bufio.NewScanner(strings.NewReader(string(status)))
	for s.Scan() {
		f := strings.Fields(s.Text())
		if len(f) >= 2 && f[0] == "VmRSS:" {
			u.RSSKiB, _ = strconv.Atoi(f[1])
		}
		if len(f) >= 2 && f[0] == "VmHWM:" {
			u.PeakRSSKiB, _ = strconv.Atoi(f[1])
		}
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	u.FDs = len(fds)
	u.Goroutines = int(p.metric(t, "go_goroutines"))
	u.HeapMiB = p.metric(t, "go_memstats_heap_inuse_bytes") / (1 << 20)
	u.StackMiB = p.metric(t, "go_memstats_stack_inuse_bytes") / (1 << 20)
	return u
}

// saveProfiles writes the heap and goroutine profiles to $SOAK_PROFILE_DIR, when set, for
// `go tool pprof`.
func (p *proxyProc) saveProfiles(t testing.TB, name string) {
	t.Helper()
	dir := os.Getenv("SOAK_PROFILE_DIR")
	if dir == "" {
		return
	}
	for _, prof := range []string{"heap", "goroutine"} {
		path := filepath.Join(filepath.Clean(dir), name+"-"+prof+".pb.gz")
		// gc=1: the heap profile of what is live now, not as of the last collection.
		if err := os.WriteFile(path, p.probeBody(t, "/debug/pprof/"+prof+"?gc=1"), 0o600); err != nil { //nolint:gosec // the directory is the one the person running the soak named
			t.Fatal(err)
		}
		t.Logf("saved %s", path)
	}
}

// terminate sends SIGTERM, as a kubelet stopping the pod does.
func (p *proxyProc) terminate(t testing.TB) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
}

// transport is a client connection pool to the proxy: HTTP/2, trusting its CA.
func (p *proxyProc) transport(t testing.TB) *http.Transport {
	return &http.Transport{TLSClientConfig: testpki.ClientConfig(t, p.CA.PEM), ForceAttemptHTTP2: true}
}

// do sends one request with token and returns its status and body.
func do(ctx context.Context, c *http.Client, method, url, token string, body io.Reader) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}
