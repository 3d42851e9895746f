package proxy

import (
	"errors"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestStopperEndsEveryOpenStream: one stop ends every stream still open with a clean EOF (a
// pending read included), a stream opened after it ends at once, and a closed stream is
// forgotten, so that thousands of watches opened and closed leave nothing behind.
func TestStopperEndsEveryOpenStream(t *testing.T) {
	stop := make(chan struct{})
	s := newStopper(stop)
	var writers []*io.PipeWriter
	var bodies []io.ReadCloser
	for range 3 {
		r, w := io.Pipe()
		writers = append(writers, w)
		bodies = append(bodies, s.wrap(r))
	}
	_ = bodies[2].Close()
	s.mu.Lock()
	open := len(s.open)
	s.mu.Unlock()
	pending := make(chan error, 1)
	go func() {
		_, err := bodies[0].Read(make([]byte, 8))
		pending <- err
	}()
	close(stop)
	got := map[string]any{"open before stop": open, "pending read": errName(<-pending)}
	_, err := bodies[1].Read(make([]byte, 8))
	got["read after stop"] = errName(err)
	r, _ := io.Pipe()
	_, err = s.wrap(r).Read(make([]byte, 8))
	got["stream opened after stop"] = errName(err)
	want := map[string]any{"open before stop": 2, "pending read": "EOF", "read after stop": "EOF", "stream opened after stop": "EOF"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, w := range writers {
		_ = w.Close()
	}
}

func errName(err error) string {
	switch {
	case err == nil:
		return "nil"
	case errors.Is(err, io.EOF):
		return "EOF"
	}
	return err.Error()
}
