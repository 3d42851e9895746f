package tokencache

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestLockSerialises: eight waiters released at once hold the lock one at a time. That no
// second holder gets in while one holds it is TestLockGivesUpWithContext's, without a race.
func TestLockSerialises(t *testing.T) {
	dir := t.TempDir()
	var inside, maxInside atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 8 {
		wg.Go(func() {
			<-start
			unlock, err := Lock(context.Background(), dir, "k")
			if err != nil {
				t.Error(err)
				return
			}
			raiseTo(&maxInside, inside.Add(1))
			runtime.Gosched() // let a holder that got in wrongly count itself
			inside.Add(-1)
			unlock()
		})
	}
	close(start)
	wg.Wait()
	if got := maxInside.Load(); got != 1 {
		t.Errorf("%d holders at once, want 1", got)
	}
}

func TestLockGivesUpWithContext(t *testing.T) {
	dir := t.TempDir()
	unlock, err := Lock(context.Background(), dir, "k")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := Lock(ctx, dir, "k"); err == nil {
		t.Fatal("a second holder got the lock")
	}
}

// raiseTo sets peak to n if n is larger, atomically: two holders counting at once must not
// lose the larger count.
func raiseTo(peak *atomic.Int32, n int32) {
	for {
		m := peak.Load()
		if n <= m || peak.CompareAndSwap(m, n) {
			return
		}
	}
}
