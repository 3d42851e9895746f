package tokencache

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzDecodeEntry feeds decode what a cache file or keyring item might hold
// after a crash, a bad edit or an older version: it must never panic, and an
// entry it accepts must survive being saved and read again unchanged.
func FuzzDecodeEntry(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decode(b)
		if err != nil {
			return
		}
		enc, err := encode(e)
		if err != nil {
			t.Fatalf("a decoded entry does not encode: %v", err)
		}
		again, err := decode(enc)
		if err != nil {
			t.Fatalf("a re-encoded entry does not decode: %v", err)
		}
		if diff := cmp.Diff(e, again); diff != "" {
			t.Errorf("entry changed by encode and decode (-first +second):\n%s", diff)
		}
	})
}
