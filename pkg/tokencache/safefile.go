package tokencache

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// readFile reads path without following a symlink: a link planted where a
// cache file goes would otherwise make the plugin read the file it names.
func readFile(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|oNoFollow, 0)
	if err != nil {
		if isSymlink(path) {
			return nil, errSymlink(path)
		}
		return nil, err
	}
	defer f.Close() //nolint:errcheck // read-only
	return io.ReadAll(f)
}

// replaceFile writes b to a new 0600 file in dir and renames it to name, so a
// reader sees the old content or the new, never half, and a symlink at name
// is replaced, never followed: CreateTemp opens with O_CREATE|O_EXCL, which
// refuses any existing name, links included.
func replaceFile(dir, name string, b []byte) error {
	tmp, err := os.CreateTemp(dir, name+".*.tmp")
	if err != nil {
		return fmt.Errorf("create a file in the token cache dir: %w", err)
	}
	defer os.Remove(tmp.Name()) //nolint:errcheck // gone after a successful rename
	if _, err := tmp.Write(b); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("sync %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp.Name(), err)
	}
	path := filepath.Join(dir, name)
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("replace %s: %w", path, err)
	}
	return nil
}

// isSymlink tells an open refused by O_NOFOLLOW apart: its own error (ELOOP
// on Linux, EMLINK on FreeBSD) says nothing about links.
func isSymlink(path string) bool {
	fi, err := os.Lstat(path)
	return err == nil && fi.Mode()&fs.ModeSymlink != 0
}

func errSymlink(path string) error {
	return fmt.Errorf("%s is a symlink, which the token cache never follows; remove it", path)
}
