// Package syncbuf is a log sink that a test reads while other goroutines
// (a proxy, a login flow, an authenticator) write to it.
package syncbuf

import (
	"bytes"
	"sync"
)

// Buffer is a bytes.Buffer safe for concurrent Write and String.
type Buffer struct {
	// Max, when positive, is the size after which writes are dropped, so a
	// load test does not spend its time growing a log nobody reads.
	Max int

	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p, or drops it once the buffer holds Max bytes.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.Max > 0 && b.buf.Len() > b.Max {
		return len(p), nil
	}
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
