package proxy

import (
	"io"
	"sync"
	"sync/atomic"
)

// stopper ends streaming upstream bodies with a clean io.EOF once stop is closed; any other
// read error makes the reverse proxy abort the client connection mid-stream. One goroutine
// waits for stop on behalf of every open body: a goroutine per watch cost more memory than the
// rest of an idle watch's bookkeeping.
type stopper struct {
	mu      sync.Mutex
	stopped bool
	open    map[*stoppableBody]struct{}
}

func newStopper(stop <-chan struct{}) *stopper {
	s := &stopper{open: map[*stoppableBody]struct{}{}}
	if stop != nil {
		go func() {
			<-stop
			s.stopAll()
		}()
	}
	return s
}

func (s *stopper) stopAll() {
	s.mu.Lock()
	s.stopped = true
	open := s.open
	s.open = nil
	s.mu.Unlock()
	for b := range open {
		b.stop()
	}
}

// wrap returns body, ended cleanly once stop is closed (at once when it already is).
func (s *stopper) wrap(body io.ReadCloser) io.ReadCloser {
	b := &stoppableBody{ReadCloser: body, owner: s}
	s.mu.Lock()
	stopped := s.stopped
	if !stopped {
		s.open[b] = struct{}{}
	}
	s.mu.Unlock()
	if stopped {
		b.stop()
	}
	return b
}

func (s *stopper) forget(b *stoppableBody) {
	s.mu.Lock()
	delete(s.open, b)
	s.mu.Unlock()
}

// stoppableBody is one streaming body under a stopper.
type stoppableBody struct {
	io.ReadCloser
	owner   *stopper
	stopped atomic.Bool
}

// stop marks the body stopped and closes it, which unblocks a pending Read.
func (b *stoppableBody) stop() {
	b.stopped.Store(true)
	_ = b.ReadCloser.Close()
}

func (b *stoppableBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && b.stopped.Load() {
		return n, io.EOF
	}
	return n, err
}

func (b *stoppableBody) Close() error {
	b.owner.forget(b)
	return b.ReadCloser.Close()
}
