package proxy

import "sync"

const (
	// copyBufferSize is the reverse proxy's default copy buffer size.
	copyBufferSize = 32 << 10
	// streamBufferSize is the copy buffer of a long-running response (watch, logs -f), which
	// holds it for as long as the stream is open, idle or not: 32 KiB was two thirds of an idle
	// watch's memory (5,000 watches: 146 of 220 MiB live heap). 4 KiB is the HTTP/2 server's
	// own per-stream write buffer; a watch event is usually smaller, and a larger one is passed
	// on in several reads, each flushed at once.
	streamBufferSize = 4 << 10
)

// bufferPool lends the reverse proxy its copy buffers: without one it allocates and zeroes
// 32 KiB for every response, which showed as several percent of the proxy's CPU under load.
type bufferPool struct{ pool sync.Pool }

func newBufferPool() *bufferPool {
	return &bufferPool{pool: sync.Pool{New: func() any { return new([copyBufferSize]byte) }}}
}

func (p *bufferPool) Get() []byte { return p.pool.Get().(*[copyBufferSize]byte)[:] }

func (p *bufferPool) Put(b []byte) {
	if len(b) == copyBufferSize {
		p.pool.Put((*[copyBufferSize]byte)(b))
	}
}

// streamBufferPool lends the small copy buffers of long-running responses.
type streamBufferPool struct{ pool sync.Pool }

func newStreamBufferPool() *streamBufferPool {
	return &streamBufferPool{pool: sync.Pool{New: func() any { return new([streamBufferSize]byte) }}}
}

func (p *streamBufferPool) Get() []byte { return p.pool.Get().(*[streamBufferSize]byte)[:] }

func (p *streamBufferPool) Put(b []byte) {
	if len(b) == streamBufferSize {
		p.pool.Put((*[streamBufferSize]byte)(b))
	}
}
