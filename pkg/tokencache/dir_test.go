package tokencache

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestCheckDir stats real directories; a directory of another user is stood
// in for by claiming another uid, since an unprivileged test cannot chown.
func TestCheckDir(t *testing.T) {
	me := os.Geteuid()
	other := me + 1
	mkdir := func(mode os.FileMode) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			t.Helper()
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, mode); err != nil {
				t.Fatal(err)
			}
		}
	}
	linkTo := func(mode os.FileMode) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			t.Helper()
			target := filepath.Join(t.TempDir(), "target")
			mkdir(mode)(t, target)
			if err := os.Symlink(target, dir); err != nil {
				t.Fatal(err)
			}
		}
	}
	cases := []struct {
		name  string
		setup func(t *testing.T, dir string)
		uid   int
		want  string // DIR stands for the directory
	}{
		{"missing", func(*testing.T, string) {}, me, ""},
		{"ours, 0700", mkdir(0o700), me, ""},
		{"ours, readable by others", mkdir(0o755), me, ""},
		{"world-writable", mkdir(0o777), me, "token cache dir DIR is writable by other users (mode 0777)"},
		{"group-writable", mkdir(0o770), me, "token cache dir DIR is writable by other users (mode 0770)"},
		{"sticky and world-writable, like /tmp", mkdir(0o1777), me, "token cache dir DIR is writable by other users (mode 0777)"},
		{"another user's", mkdir(0o700), other, fmt.Sprintf("token cache dir DIR is owned by uid %d, not by uid %d (the current user)", me, other)},
		{"a file", func(t *testing.T, dir string) {
			if err := os.WriteFile(dir, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}, me, "token cache dir DIR is not a directory"},
		{"our symlink to our dir", linkTo(0o700), me, ""},
		{"another user's symlink", linkTo(0o700), other, fmt.Sprintf("token cache dir DIR is a symlink owned by uid %d, not by uid %d (the current user)", me, other)},
		{"our symlink to a world-writable dir", linkTo(0o777), me, "token cache dir DIR is writable by other users (mode 0777)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "cache")
			tc.setup(t, dir)
			_, err := checkDir(dir, tc.uid)
			if diff := cmp.Diff(strings.ReplaceAll(tc.want, "DIR", dir), errString(err)); diff != "" {
				t.Errorf("checkDir (-want +got):\n%s", diff)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestUnsafeDirIsNeverUsed: in a directory others may write to, no store,
// lock or mark reads, writes or removes anything.
func TestUnsafeDirIsNeverUsed(t *testing.T) {
	dir := t.TempDir()
	entry := `{"id_token":"planted","expiry":"2030-01-01T00:00:00Z"}`
	mark := "2030-01-01T00:00:00Z planted"
	writeFiles(t, dir, map[string]string{"k.json": entry, "k.failed": mark})
	if err := os.Chmod(dir, 0o777); err != nil { //nolint:gosec // the unsafe directory under test
		t.Fatal(err)
	}
	want := "token cache dir " + dir + " is writable by other users (mode 0777)"
	files, marks := FileStore{Dir: dir}, FailureMarks{Dir: dir}
	ops := map[string]func() error{
		"load":       func() error { _, err := files.Load("k"); return err },
		"save":       func() error { return files.Save("k", Entry{IDToken: "new"}) },
		"delete":     func() error { return files.Delete("k") },
		"delete all": func() error { return files.DeleteAll() },
		"lock":       func() error { _, err := Lock(context.Background(), dir, "k"); return err },
		"record":     func() error { return marks.Record("k", time.Now(), "failed") },
		"clear":      func() error { return marks.Clear("k") },
	}
	for name, op := range ops {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(want, errString(op())); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
	if _, _, ok := marks.Last("k"); ok {
		t.Error("Last read a failure mark from the unsafe dir")
	}
	if diff := cmp.Diff(map[string]string{"k.json": entry, "k.failed": mark}, readFiles(t, dir)); diff != "" {
		t.Errorf("the unsafe dir changed (-want +got):\n%s", diff)
	}
}

// TestNoDirKeepsNothing: the CLI passes an empty dir once it has refused the
// configured one; nothing may land in the working directory instead.
func TestNoDirKeepsNothing(t *testing.T) {
	cwd := t.TempDir()
	t.Chdir(cwd)
	if err := (FileStore{}).Save("k", Entry{IDToken: "t"}); err != nil {
		t.Errorf("Save: %v", err)
	}
	if _, err := (FileStore{}).Load("k"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Load: %v, want ErrNotFound", err)
	}
	unlock, err := Lock(context.Background(), "", "k")
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	unlock()
	if err := (FailureMarks{}).Record("k", time.Now(), "failed"); err != nil {
		t.Errorf("Record: %v", err)
	}
	if _, _, ok := (FailureMarks{}).Last("k"); ok {
		t.Error("Last reports a failure that was not kept")
	}
	if diff := cmp.Diff(map[string]string{}, readFiles(t, cwd)); diff != "" {
		t.Errorf("files written to the working directory (-want +got):\n%s", diff)
	}
}

// TestMissingDirIsCreatedPrivate: a store creates a missing dir 0700, and a
// reader does not create it at all.
func TestMissingDirIsCreatedPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "cache")
	if _, err := (FileStore{Dir: dir}).Load("k"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Load: %v, want ErrNotFound", err)
	}
	if _, err := os.Lstat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Load created the dir: %v", err)
	}
	unlock, err := Lock(context.Background(), dir, "k")
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	assertMode(t, dir, 0o700)
	assertMode(t, filepath.Join(dir, "k.lock"), 0o600)
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// readFiles returns the regular files in dir by name.
func readFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, de := range entries {
		b, err := os.ReadFile(filepath.Join(dir, de.Name()))
		if err != nil {
			t.Fatal(err)
		}
		got[de.Name()] = string(b)
	}
	return got
}
