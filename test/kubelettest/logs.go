package kubelettest

import (
	"io"
	"net/http"
	"strconv"
	"sync"
)

// logStore holds each container's log lines, and wakes the follow streams when one is added.
type logStore struct {
	mu      sync.Mutex
	lines   map[string][]string // by namespace/pod/container
	changed chan struct{}       // closed and replaced when a line is added
}

func newLogStore() *logStore {
	return &logStore{lines: map[string][]string{}, changed: make(chan struct{})}
}

// Log writes line (a newline is added) to the log of the container, as its process would; a
// follow stream sends it at once.
func (k *Kubelet) Log(namespace, pod, container, line string) {
	s := k.logs
	s.mu.Lock()
	defer s.mu.Unlock()
	key := namespace + "/" + pod + "/" + container
	s.lines[key] = append(s.lines[key], line+"\n")
	close(s.changed)
	s.changed = make(chan struct{})
}

// from returns the container's lines from index i on, and a channel closed when more arrive.
func (s *logStore) from(key string, i int) ([]string, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	lines := s.lines[key]
	return lines[min(i, len(lines)):], s.changed
}

// serveLogs answers kube-apiserver's pods/log: the lines so far (the last tailLines of them,
// when given) and, with follow=true, each new line as it is written, until the client goes.
func (k *Kubelet) serveLogs(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("namespace") + "/" + r.PathValue("pod") + "/" + r.PathValue("container")
	q := r.URL.Query()
	next := 0
	if tail := q.Get("tailLines"); tail != "" {
		n, err := strconv.Atoi(tail)
		if err != nil || n < 0 {
			http.Error(w, "tailLines: want a non-negative integer", http.StatusBadRequest)
			return
		}
		all, _ := k.logs.from(key, 0)
		next = max(len(all)-n, 0)
	}
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	for {
		lines, changed := k.logs.from(key, next)
		for _, line := range lines {
			if _, err := io.WriteString(w, line); err != nil {
				return
			}
		}
		next += len(lines)
		if flusher != nil {
			flusher.Flush()
		}
		if q.Get("follow") != "true" {
			return
		}
		select {
		case <-changed:
		case <-r.Context().Done():
			return
		case <-k.done:
			return
		}
	}
}
