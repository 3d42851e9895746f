package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestGCPercent(t *testing.T) {
	for _, tc := range []struct {
		name string
		live uint64
		want int
	}{
		{"nothing live yet", 0, 400},
		{"a small heap collects rarely", 8 << 20, 400},
		{"16 MiB live may hold 64 MiB of garbage", 16 << 20, 400},
		{"32 MiB live: 64 MiB of garbage", 32 << 20, 200},
		{"64 MiB live: as much garbage as live", 64 << 20, 100},
		{"thousands of watches: never less than GOGC=100", 512 << 20, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, gcPercent(tc.live)); diff != "" {
				t.Errorf("gcPercent(%d) (-want +got):\n%s", tc.live, diff)
			}
		})
	}
}
