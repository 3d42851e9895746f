package tokencache

import (
	"testing"
	"time"
)

func TestFailureMarks(t *testing.T) {
	m := FailureMarks{Dir: t.TempDir()}
	if _, _, ok := m.Last("k"); ok {
		t.Fatal("a failure is reported before any was recorded")
	}
	at := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	if err := m.Record("k", at, "login did not complete\nin time"); err != nil {
		t.Fatal(err)
	}
	got, reason, ok := m.Last("k")
	if !ok || !got.Equal(at) || reason != "login did not complete in time" {
		t.Errorf("Last = %v, %q, %v", got, reason, ok)
	}
	if err := m.Clear("k"); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := m.Last("k"); ok {
		t.Error("a cleared failure is still reported")
	}
	if err := m.Clear("k"); err != nil {
		t.Errorf("clearing twice: %v", err)
	}
}
