package soak

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aksoidc/aksoidc/test/poll"
	"github.com/aksoidc/aksoidc/test/testpki"
)

// TestSIGTERMUnderLoad runs two replicas behind a TCP balancer and sends one SIGTERM under
// load: its watches end cleanly, it exits 0 within its grace period, and no request fails (new
// connections go to the other replica).
func TestSIGTERMUnderLoad(t *testing.T) {
	e := newEnv(t)
	replicas := []*proxyProc{
		startProxy(t, e.cluster.ProxyKubeconfig, e.iss, "--shutdown-grace=10s"),
		startProxy(t, e.cluster.ProxyKubeconfig, e.iss, "--shutdown-grace=10s"),
	}
	lb := newBalancer(t, replicas[0].URL, replicas[1].URL)
	caPEM := append(append([]byte{}, replicas[0].CA.PEM...), replicas[1].CA.PEM...)
	token := e.token(t, "alice", time.Hour)
	g := startGetter(t, lb, caPEM, func() string { return token }, false)
	watchURL := replicas[0].URL + "/api/v1/namespaces/" + namespace + "/configmaps?watch=true"
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: testpki.ClientConfig(t, caPEM), ForceAttemptHTTP2: true}}
	var watches sync.WaitGroup
	var watchErrs atomic.Int64
	for range 5 {
		resp, err := watch(t.Context(), client, watchURL, token)
		if err != nil {
			t.Fatal(err)
		}
		watches.Go(func() {
			defer func() { _ = resp.Body.Close() }()
			if _, err := io.Copy(io.Discard, resp.Body); err != nil {
				watchErrs.Add(1)
			}
		})
	}
	poll.Until(t, 30*time.Second, func() bool { return g.ok.Load() > 20 })
	replicas[0].terminate(t)
	sent := time.Now()
	select {
	case <-replicas[0].exited:
	case <-time.After(30 * time.Second):
		t.Fatal("the replica still runs 30s after SIGTERM, past its 10s grace")
	}
	exited := time.Since(sent)
	watches.Wait()
	after := g.ok.Load()
	poll.Until(t, 30*time.Second, func() bool { return g.ok.Load() > after+20 }) // the other replica answers
	g.halt()
	report(t, "sigterm", "exit-after", exited.Round(time.Millisecond), "requests-ok", g.ok.Load(), "failed", g.failed.Load(),
		"watches-cut", watchErrs.Load())
	if err := replicas[0].exitErr; err != nil {
		t.Errorf("the replica exited with %v, want 0", err)
	}
	if g.failed.Load() > 0 || watchErrs.Load() > 0 {
		t.Errorf("%d requests failed, %d watches were cut instead of ended:\n%s", g.failed.Load(), watchErrs.Load(), g.failures())
	}
}

// newBalancer is a TCP balancer on 127.0.0.1 in front of the given https:// URLs: each new
// connection goes to the next backend that accepts it, as a Service's endpoints do once a
// terminating pod is removed. It returns its own https:// URL.
func newBalancer(t *testing.T, backends ...string) string {
	t.Helper()
	l, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns sync.WaitGroup
	var mu sync.Mutex
	var open []net.Conn
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		for _, c := range open { // a client's idle connection would hold it open for ever
			_ = c.Close()
		}
		mu.Unlock()
		conns.Wait()
	})
	var next atomic.Int64
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			open = append(open, c)
			mu.Unlock()
			conns.Go(func() { balance(c, backends, int(next.Add(1))) })
		}
	}()
	return "https://" + l.Addr().String()
}

func balance(c net.Conn, backends []string, start int) {
	defer func() { _ = c.Close() }()
	var d net.Dialer
	for i := range backends {
		addr := strings.TrimPrefix(backends[(start+i)%len(backends)], "https://")
		up, err := d.DialContext(context.Background(), "tcp", addr)
		if err != nil {
			continue
		}
		defer func() { _ = up.Close() }()
		done := make(chan struct{}, 2)
		go func() { _, _ = io.Copy(up, c); closeWrite(up); done <- struct{}{} }()
		go func() { _, _ = io.Copy(c, up); closeWrite(c); done <- struct{}{} }()
		<-done
		<-done
		return
	}
}

func closeWrite(c net.Conn) {
	if tcp, ok := c.(*net.TCPConn); ok {
		_ = tcp.CloseWrite()
	}
}
