// Package kubelettest is a loopback stand-in for a kubelet, so that kube-apiserver's pods/log,
// pods/exec and pods/portforward can be tested end to end: the test control plane
// (test/kubetest) runs no kubelet and no container runtime, so no real one can answer. It is a
// hand-written fake for that reason only, and kept small: an HTTPS server on 127.0.0.1 (its
// certificate from test/testpki, which kube-apiserver verifies through
// --kubelet-certificate-authority) serving /containerLogs, /exec and /portForward (the paths kube-apiserver asks for). The streams
// are the real k8s.io/cri-streaming server packages, the kubelet's own, over SPDY as
// kube-apiserver speaks to kubelets; only what runs "in the container" is fake (see Exec).
// Register puts the kubelet's Node and a Running Pod bound to it into the API server.
package kubelettest

import (
	"crypto/tls"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	criportforward "k8s.io/cri-streaming/pkg/streaming/portforward"
	criremotecommand "k8s.io/cri-streaming/pkg/streaming/remotecommand"

	"github.com/aksoidc/aksoidc/test/testpki"
)

// Kubelet is a running stand-in kubelet.
type Kubelet struct {
	// URL is https://127.0.0.1:Port.
	URL string
	// Port is its HTTPS port on 127.0.0.1, the Node's kubelet endpoint.
	Port int
	// CAFile is the PEM file of the CA that signed its serving certificate.
	CAFile string
	// CA is that CA.
	CA *testpki.CA

	ports map[int32]string
	logs  *logStore
	done  chan struct{} // closed at the test's end: follow streams end
}

// Options changes what the kubelet's pods do.
type Options struct {
	// Ports maps a pod's port to the loopback TCP address a port-forward to it reaches (see
	// Echo); a port-forward to any other port fails.
	Ports map[int32]string
}

// The kubelet's streaming timeouts: the real kubelet's stream creation timeout, and an idle
// timeout no test reaches (the kubelet's default is 4 hours).
const (
	streamCreationTimeout = 30 * time.Second
	streamIdleTimeout     = 10 * time.Minute
)

// Start runs a kubelet for the test; t.Cleanup ends its streams and stops it.
func Start(t testing.TB, opts Options) *Kubelet {
	t.Helper()
	k := &Kubelet{CA: testpki.NewCA(t, "kubelettest CA"), ports: opts.Ports, logs: newLogStore(), done: make(chan struct{})}
	k.CAFile = filepath.Join(t.TempDir(), "kubelet-ca.crt")
	if err := os.WriteFile(k.CAFile, k.CA.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /containerLogs/{namespace}/{pod}/{container}", k.serveLogs)
	mux.HandleFunc("/exec/{namespace}/{pod}/{container}", k.serveExec)
	mux.HandleFunc("/portForward/{namespace}/{pod}", k.servePortForward)
	srv := httptest.NewUnstartedServer(mux)
	srv.TLS = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{k.CA.Issue(t, "kubelettest").TLSCertificate(t)}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // a refused handshake is what a test may want
	srv.StartTLS()                                   // HTTP/1.1 only, as the kubelet's upgrades need
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(k.done) }) // runs first: Close waits for the follow streams
	k.URL = srv.URL
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if k.Port, err = strconv.Atoi(u.Port()); err != nil {
		t.Fatal(err)
	}
	return k
}

// APIServerFlags are the kube-apiserver flags that make it verify the kubelet's certificate
// (for test/kubetest's Options.APIServerFlags).
func (k *Kubelet) APIServerFlags() map[string]string {
	return map[string]string{"kubelet-certificate-authority": k.CAFile}
}

func (k *Kubelet) serveExec(w http.ResponseWriter, r *http.Request) {
	opts, err := criremotecommand.NewOptions(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	criremotecommand.ServeExec(w, r, executor{}, r.PathValue("pod"), "", r.PathValue("container"), r.URL.Query()["command"],
		opts, streamIdleTimeout, streamCreationTimeout, criremotecommand.SupportedStreamingProtocols)
}

func (k *Kubelet) servePortForward(w http.ResponseWriter, r *http.Request) {
	opts, err := criportforward.NewV4Options(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	criportforward.ServePortForward(w, r, forwarder{k.ports}, r.PathValue("pod"), "", opts,
		streamIdleTimeout, streamCreationTimeout, criportforward.SupportedProtocols)
}
