package proxy

import (
	"io"
	"sync"
	"sync/atomic"
)

// stoppableBody ends a streaming upstream body with a clean io.EOF once stop is closed. Any other
// read error makes the reverse proxy abort the client connection mid-stream.
type stoppableBody struct {
	io.ReadCloser
	stopped atomic.Bool
	done    chan struct{}
	once    sync.Once
}

func newStoppableBody(body io.ReadCloser, stop <-chan struct{}) io.ReadCloser {
	if stop == nil {
		return body
	}
	b := &stoppableBody{ReadCloser: body, done: make(chan struct{})}
	go func() {
		select {
		case <-stop:
			b.stopped.Store(true)
			_ = body.Close() // unblocks a pending Read
		case <-b.done:
		}
	}()
	return b
}

func (b *stoppableBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && b.stopped.Load() {
		return n, io.EOF
	}
	return n, err
}

func (b *stoppableBody) Close() error {
	b.once.Do(func() { close(b.done) })
	return b.ReadCloser.Close()
}
