package tokencache

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestFileStoreRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	s := FileStore{Dir: dir}
	want := Entry{IDToken: "id", RefreshToken: "rt", Expiry: time.Unix(1700000000, 0).UTC()}
	if _, err := s.Load("k"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Load on an empty cache: got %v, want ErrNotFound", err)
	}
	if err := s.Save("k", want); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load("k")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("entry (-want +got):\n%s", diff)
	}
	assertMode(t, dir, 0o700)
	assertMode(t, filepath.Join(dir, "k.json"), 0o600)
	names, _ := filepath.Glob(filepath.Join(dir, "*"))
	if diff := cmp.Diff([]string{filepath.Join(dir, "k.json")}, names); diff != "" {
		t.Errorf("files left in the cache dir (-want +got):\n%s", diff)
	}
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s has mode %o, want %o", path, got, want)
	}
}

func TestFileStoreCorruptEntry(t *testing.T) {
	cases := map[string]string{
		"truncated": `{"id_token":"abc`,
		"empty":     ``,
		"no token":  `{"expiry":"2030-01-01T00:00:00Z"}`,
		"not json":  "\x00\x01garbage",
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			s := FileStore{Dir: t.TempDir()}
			if err := os.WriteFile(s.path("k"), []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Load("k"); err == nil || errors.Is(err, ErrNotFound) {
				t.Fatalf("Load of a corrupt entry: got %v, want a corrupt-entry error", err)
			}
			if err := s.Save("k", Entry{IDToken: "new"}); err != nil {
				t.Fatalf("Save over a corrupt entry: %v", err)
			}
			if e, err := s.Load("k"); err != nil || e.IDToken != "new" {
				t.Errorf("after overwrite: got %+v, %v", e, err)
			}
		})
	}
}

func TestFileStoreDelete(t *testing.T) {
	s := FileStore{Dir: t.TempDir()}
	for _, id := range []string{"a", "b"} {
		if err := s.Save(id, Entry{IDToken: id}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Delete("a"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete("a"); err != nil {
		t.Errorf("deleting a missing entry: %v", err)
	}
	if _, err := s.Load("a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted entry still loads: %v", err)
	}
	if err := s.DeleteAll(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load("b"); !errors.Is(err, ErrNotFound) {
		t.Errorf("DeleteAll left an entry: %v", err)
	}
	if err := (FileStore{Dir: filepath.Join(t.TempDir(), "absent")}).DeleteAll(); err != nil {
		t.Errorf("DeleteAll on a missing dir: %v", err)
	}
}

func TestEntryValidFor(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name      string
		entry     Entry
		useAccess bool
		want      bool
	}{
		{"valid beyond margin", Entry{IDToken: "x", Expiry: now.Add(2 * time.Minute)}, false, true},
		{"inside margin", Entry{IDToken: "x", Expiry: now.Add(30 * time.Second)}, false, false},
		{"expired", Entry{IDToken: "x", Expiry: now.Add(-time.Second)}, false, false},
		{"no expiry", Entry{IDToken: "x"}, false, false},
		{"refresh token only", Entry{RefreshToken: "r", Expiry: now.Add(time.Hour)}, false, false},
		{"access token wanted but absent", Entry{IDToken: "x", Expiry: now.Add(time.Hour)}, true, false},
		{"access token", Entry{AccessToken: "a", Expiry: now.Add(time.Hour)}, true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.entry.ValidFor(now, time.Minute, tc.useAccess); got != tc.want {
				t.Errorf("ValidFor = %v, want %v", got, tc.want)
			}
		})
	}
}
