package kubelettest

import (
	"net"
	"strconv"
	"testing"

	"k8s.io/client-go/tools/portforward"
	"k8s.io/streaming/pkg/httpstream"

	"github.com/aksoidc/aksoidc/test/syncbuf"
)

// ForwardPort forwards a free port on 127.0.0.1 to a pod's port 80 (the address Options.Ports
// gives it) through dialer, as kubectl port-forward does, and connects to it. The test's end closes the connection and stops the forwarder; what the
// forwarder said is logged if the test failed.
func ForwardPort(t testing.TB, dialer httpstream.Dialer) net.Conn {
	t.Helper()
	stop, ready := make(chan struct{}), make(chan struct{})
	var out, errOut syncbuf.Buffer
	fw, err := portforward.NewOnAddressesForStreaming(dialer, []string{"127.0.0.1"}, []string{"0:80"}, stop, ready, &out, &errOut)
	if err != nil {
		t.Fatal(err)
	}
	failed := make(chan error, 1)
	go func() { failed <- fw.ForwardPorts() }()
	t.Cleanup(func() {
		close(stop)
		if t.Failed() {
			t.Logf("the port-forward said: %s", errOut.String())
		}
	})
	select {
	case <-ready:
	case err := <-failed:
		t.Fatalf("port-forward: %v (%s)", err, errOut.String())
	}
	ports, err := fw.GetPorts()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := (&net.Dialer{}).DialContext(t.Context(), "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(ports[0].Local))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}
