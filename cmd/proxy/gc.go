package main

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
)

const (
	// gcHeadroom is how much garbage the heap may hold beyond what is live before a collection,
	// while the live heap is small.
	gcHeadroom = 64 << 20
	// maxGCPercent is the most garbage, relative to the live heap, ever allowed: 400 lowered the
	// proxy's CPU per request in BenchmarkLoadDirectVsProxy (0.22 to 0.19-0.20 CPU-s per 1,000
	// requests on 2 shared cores) when the live heap is a few MiB.
	maxGCPercent = 400
)

// tuneGC keeps the proxy's garbage collection cheap under request load without letting the heap
// grow to five times a large live heap: after each collection GOGC is set so that the next one
// comes after min(4 x live, max(live, 64 MiB)) more bytes. Thousands of idle watches make the
// live heap large and the garbage allowance of GOGC=400 with it (5,000 watches: about 90 MiB
// live, allowed to grow to 450). It runs until stopped is set.
func tuneGC(stopped *atomic.Bool) {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	var arm func()
	arm = func() {
		if stopped.Load() {
			return
		}
		// The cleanup runs once a collection has found the sentinel unreachable.
		runtime.AddCleanup(new([64]byte), func(struct{}) {
			metrics.Read(sample)
			if sample[0].Value.Kind() == metrics.KindUint64 {
				debug.SetGCPercent(gcPercent(sample[0].Value.Uint64()))
			}
			arm()
		}, struct{}{})
	}
	debug.SetGCPercent(maxGCPercent)
	arm()
}

// gcPercent is the GOGC that allows max(live, gcHeadroom) of garbage, within 100..maxGCPercent.
func gcPercent(live uint64) int {
	if live == 0 {
		return maxGCPercent
	}
	return int(min(max(gcHeadroom*100/live, 100), maxGCPercent))
}
