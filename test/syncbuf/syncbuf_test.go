package syncbuf

import (
	"fmt"
	"sync"
	"testing"
)

func TestConcurrentWritesAllArrive(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() { _, _ = fmt.Fprintf(&b, "%d\n", i) })
	}
	wg.Wait()
	if got := len(b.String()); got != 20 {
		t.Errorf("%d bytes written, want 20", got)
	}
}

func TestMaxDropsLaterWrites(t *testing.T) {
	b := Buffer{Max: 3}
	for range 3 {
		if n, err := b.Write([]byte("ab")); n != 2 || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if got := b.String(); got != "abab" {
		t.Errorf("String = %q, want %q", got, "abab")
	}
}
