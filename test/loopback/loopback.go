// Package loopback finds 127.0.0.1 ports for the servers tests start, which bind them a
// moment later (tests and demos use only loopback addresses).
package loopback

import (
	"net"
	"strconv"
	"testing"
)

// Port returns a 127.0.0.1 port nothing listens on now.
func Port(t testing.TB) int {
	t.Helper()
	var lc net.ListenConfig
	l, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free loopback port: %v", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		t.Fatalf("find a free loopback port: %v", err)
	}
	return port
}

// Addr returns "127.0.0.1:<Port>".
func Addr(t testing.TB) string {
	t.Helper()
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(Port(t)))
}
