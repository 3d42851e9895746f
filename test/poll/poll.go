// Package poll waits in tests for a condition that something else makes true.
package poll

import (
	"testing"
	"time"
)

// Until checks cond every 20ms and fails the test if it is still false after timeout.
func Until(t testing.TB, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
