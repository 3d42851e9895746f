package soak

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aksoidc/aksoidc/test/poll"
	"github.com/aksoidc/aksoidc/test/testpki"
)

// getter sends GETs of the namespace's ConfigMaps through the proxy until stopped, each on a
// new connection when fresh is set, and counts the answers.
type getter struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	first      []string
	stop       context.CancelFunc
	done       sync.WaitGroup
}

func startGetter(t *testing.T, url string, caPEM []byte, token func() string, fresh bool) *getter {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	g := &getter{stop: cancel}
	t.Cleanup(g.halt)
	for range 2 {
		g.done.Go(func() {
			tr := &http.Transport{TLSClientConfig: testpki.ClientConfig(t, caPEM), ForceAttemptHTTP2: true}
			for ctx.Err() == nil {
				if fresh {
					tr.CloseIdleConnections()
					tr = &http.Transport{TLSClientConfig: testpki.ClientConfig(t, caPEM), ForceAttemptHTTP2: true}
				}
				code, out, err := do(ctx, &http.Client{Transport: tr}, http.MethodGet, url+"/api/v1/namespaces/"+namespace+"/configmaps", token(), nil)
				switch {
				case ctx.Err() != nil:
				case err != nil || code != http.StatusOK:
					g.failed.Add(1)
					g.mu.Lock()
					if len(g.first) < 5 {
						g.first = append(g.first, fmt.Sprintf("%d %.200s %v", code, out, err))
					}
					g.mu.Unlock()
				default:
					g.ok.Add(1)
				}
			}
			tr.CloseIdleConnections()
		})
	}
	return g
}

func (g *getter) halt() { g.stop(); g.done.Wait() }

func (g *getter) failures() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return strings.Join(g.first, "\n")
}

// TestAPIServerKilled kills kube-apiserver (SIGKILL) under load and starts it again with the
// same command line: the proxy, not restarted, must answer again once the API server is ready
// (within 5 s, asserted under SOAK=1; the short run asserts the recovery only).
func TestAPIServerKilled(t *testing.T) {
	e := newEnv(t)
	p := startProxy(t, e.cluster.ProxyKubeconfig, e.iss)
	token := e.token(t, "alice", time.Hour)
	g := startGetter(t, p.URL, p.CA.PEM, func() string { return token }, false)
	poll.Until(t, 30*time.Second, func() bool { return g.ok.Load() > 10 })
	restart := killAPIServer(t)
	poll.Until(t, 30*time.Second, func() bool { return g.failed.Load() > 0 }) // the proxy noticed
	restart()
	poll.Until(t, 60*time.Second, func() bool {
		_, err := e.cluster.AdminClient.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(t.Context())
		return err == nil
	})
	ready := time.Now()
	before := g.ok.Load()
	poll.Until(t, 60*time.Second, func() bool { return g.ok.Load() > before })
	back := time.Since(ready)
	poll.Until(t, 60*time.Second, func() bool { return p.probeStatus(t, "/readyz") == http.StatusOK })
	g.halt()
	report(t, "apiserver-killed", "proxy-answers-after-apiserver-ready", back.Round(time.Millisecond),
		"requests-ok", g.ok.Load(), "failed-while-down", g.failed.Load())
	if long() && back > 5*time.Second {
		t.Errorf("the proxy answered %v after the API server was ready, want within 5s", back)
	}
}

// killAPIServer kills this test's kube-apiserver (a child of this process) with SIGKILL and
// returns a function that starts it again with the same command line and environment; the
// new one is killed when the test ends, before envtest stops etcd.
func killAPIServer(t *testing.T) (restart func()) {
	t.Helper()
	pid := childNamed(t, "kube-apiserver")
	args := procStrings(t, pid, "cmdline")
	environ := procStrings(t, pid, "environ")
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	return func() {
		cmd := exec.CommandContext(context.Background(), args[0], args[1:]...) // outlives t.Context: killed in Cleanup
		cmd.Env = environ
		if err := cmd.Start(); err != nil {
			t.Fatalf("restart kube-apiserver: %v", err)
		}
		t.Cleanup(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			_ = cmd.Wait()
		})
	}
}

// childNamed is the process id of this process's child whose command is name.
func childNamed(t *testing.T, name string) int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		open, closing := strings.IndexByte(string(stat), '('), strings.LastIndexByte(string(stat), ')')
		if open < 0 || closing < open {
			continue
		}
		fields := strings.Fields(string(stat[closing+1:]))
		if string(stat[open+1:closing]) == name && len(fields) > 1 && fields[1] == strconv.Itoa(os.Getpid()) {
			return pid
		}
	}
	t.Fatalf("no child process %s", name)
	return 0
}

func procStrings(t *testing.T, pid int, file string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), file))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\x00"), "\x00")
}

// TestIdentityProviderDown takes the issuer down for SOAK_IDP_DOWN (3s; 2m under SOAK=1) under
// load: tokens signed meanwhile with the key the proxy holds keep working, every one new (no
// token cache hit), and the proxy stays ready. Then the issuer rotates its signing key while
// down and comes back: tokens signed with the new key must work.
func TestIdentityProviderDown(t *testing.T) {
	down := duration(t, "SOAK_IDP_DOWN", 3*time.Second, 2*time.Minute)
	e := newEnv(t)
	p := startProxy(t, e.cluster.ProxyKubeconfig, e.iss)
	var n atomic.Int64
	token := func() string { return e.token(t, fmt.Sprintf("user-%d", n.Add(1)), time.Hour) }
	e.iss.SetDown(true)
	g := startGetter(t, p.URL, p.CA.PEM, token, false)
	var unready int
	for end := time.Now().Add(down); time.Now().Before(end); {
		if p.probeStatus(t, "/readyz") != http.StatusOK {
			unready++
		}
		time.Sleep(100 * time.Millisecond) // a sampling rate, not a synchronisation
	}
	g.halt()
	if g.failed.Load() > 0 || g.ok.Load() == 0 || unready > 0 {
		t.Errorf("with the issuer down: %d requests ok, %d failed, /readyz unready %d times; want none failed, ready throughout:\n%s",
			g.ok.Load(), g.failed.Load(), unready, g.failures())
	}
	e.iss.RotateKey(t)
	e.iss.SetDown(false)
	back := time.Now()
	c := &http.Client{Transport: p.transport(t)}
	attempts := 0
	poll.Until(t, 60*time.Second, func() bool {
		attempts++
		code, _, err := do(t.Context(), c, http.MethodGet, p.URL+"/api/v1/namespaces/"+namespace+"/configmaps", token(), nil)
		return err == nil && code == http.StatusOK
	})
	report(t, "idp-down", "down", down, "requests-ok", g.ok.Load(), "failed", g.failed.Load(), "unready-probes", unready,
		"new-key-attempts-until-ok", attempts, "new-key-ok-after", time.Since(back).Round(time.Millisecond))
	if long() && attempts > 1 {
		t.Errorf("the first %d requests with the new key failed once the issuer was back, want the first to work", attempts-1)
	}
}

// TestServingCertificateRotated rotates the proxy's serving certificate under a load of new
// connections: no request fails, and new connections get the new certificate.
func TestServingCertificateRotated(t *testing.T) {
	e := newEnv(t)
	p := startProxy(t, e.cluster.ProxyKubeconfig, e.iss)
	token := e.token(t, "alice", time.Hour)
	g := startGetter(t, p.URL, p.CA.PEM, func() string { return token }, true)
	serials := map[string]bool{servedSerial(t, p): true}
	for range 3 {
		p.rotateCertificate(t)
		poll.Until(t, 60*time.Second, func() bool { return !serials[servedSerial(t, p)] })
		serials[servedSerial(t, p)] = true
		before := g.ok.Load()
		poll.Until(t, 60*time.Second, func() bool { return g.ok.Load() > before+10 }) // requests on the new one
	}
	g.halt()
	report(t, "serving-cert-rotated", "rotations", 3, "requests-ok", g.ok.Load(), "failed", g.failed.Load())
	if g.failed.Load() > 0 || g.ok.Load() == 0 {
		t.Errorf("%d requests ok, %d failed while the certificate rotated:\n%s", g.ok.Load(), g.failed.Load(), g.failures())
	}
}

// servedSerial is the serial number of the certificate a new connection to the proxy gets.
func servedSerial(t *testing.T, p *proxyProc) string {
	t.Helper()
	d := tls.Dialer{Config: testpki.ClientConfig(t, p.CA.PEM)}
	conn, err := d.DialContext(t.Context(), "tcp", strings.TrimPrefix(p.URL, "https://"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	return conn.(*tls.Conn).ConnectionState().PeerCertificates[0].SerialNumber.String()
}
