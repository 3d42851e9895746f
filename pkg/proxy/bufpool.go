package proxy

import "sync"

// copyBufferSize is the reverse proxy's default copy buffer size.
const copyBufferSize = 32 << 10

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
