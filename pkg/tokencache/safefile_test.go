package tokencache

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestPlantedSymlinkIsNeverFollowed plants a link at each name the cache
// uses, pointing at a file of the user's (or at where one would be created):
// reads refuse it, writes replace the link, the lock refuses it, and the
// victim is never created, written or truncated.
func TestPlantedSymlinkIsNeverFollowed(t *testing.T) {
	cases := []struct {
		name     string
		planted  string
		op       func(dir string) error
		wantErr  string // DIR stands for the cache directory
		replaced bool   // the link gives way to a regular file
	}{
		{
			name: "load", planted: "k.json",
			op:      func(dir string) error { _, err := (FileStore{Dir: dir}).Load("k"); return err },
			wantErr: "read token cache: DIR/k.json is a symlink, which the token cache never follows; remove it",
		},
		{
			name: "save", planted: "k.json", replaced: true,
			op: func(dir string) error { return (FileStore{Dir: dir}).Save("k", Entry{IDToken: "new"}) },
		},
		{
			name: "lock", planted: "k.lock",
			op: func(dir string) error {
				unlock, err := Lock(context.Background(), dir, "k")
				if err == nil {
					unlock()
				}
				return err
			},
			wantErr: "lock: DIR/k.lock is a symlink, which the token cache never follows; remove it",
		},
		{
			name: "last failure", planted: "k.failed",
			op: func(dir string) error {
				if _, _, ok := (FailureMarks{Dir: dir}).Last("k"); ok {
					return errors.New("Last read the victim")
				}
				return nil
			},
		},
		{
			name: "record failure", planted: "k.failed", replaced: true,
			op: func(dir string) error { return (FailureMarks{Dir: dir}).Record("k", time.Now(), "failed") },
		},
	}
	for _, tc := range cases {
		for _, victimExists := range []bool{true, false} {
			name := tc.name + ", victim absent"
			if victimExists {
				name = tc.name + ", victim present"
			}
			t.Run(name, func(t *testing.T) {
				dir := t.TempDir()
				victim := filepath.Join(t.TempDir(), "victim")
				const precious = "2030-01-01T00:00:00Z {\"id_token\":\"precious\"}"
				if victimExists {
					writeFiles(t, filepath.Dir(victim), map[string]string{"victim": precious})
				}
				link := filepath.Join(dir, tc.planted)
				if err := os.Symlink(victim, link); err != nil {
					t.Fatal(err)
				}
				err := tc.op(dir)
				if diff := cmp.Diff(strings.ReplaceAll(tc.wantErr, "DIR", dir), errString(err)); diff != "" {
					t.Errorf("error (-want +got):\n%s", diff)
				}
				assertVictim(t, victim, victimExists, precious)
				fi, err := os.Lstat(link)
				if err != nil {
					t.Fatal(err)
				}
				if got := fi.Mode()&fs.ModeSymlink == 0; got != tc.replaced {
					t.Errorf("%s replaced by a regular file: %v, want %v", tc.planted, got, tc.replaced)
				}
			})
		}
	}
}

func assertVictim(t *testing.T, victim string, exists bool, content string) {
	t.Helper()
	b, err := os.ReadFile(victim)
	switch {
	case !exists && !errors.Is(err, fs.ErrNotExist):
		t.Errorf("the victim was created: %q, %v", b, err)
	case exists && err != nil:
		t.Errorf("the victim is gone: %v", err)
	case exists && string(b) != content:
		t.Errorf("the victim was written: %q", b)
	}
}
