package tokencache

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// FileStore keeps one 0600 JSON file per key in a 0700 directory.
type FileStore struct {
	Dir string
}

func (s FileStore) path(id string) string {
	return filepath.Join(s.Dir, id+".json")
}

// Load reads the entry for id.
func (s FileStore) Load(id string) (Entry, error) {
	b, err := os.ReadFile(s.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return Entry{}, ErrNotFound
	}
	if err != nil {
		return Entry{}, fmt.Errorf("read token cache: %w", err)
	}
	e, err := decode(b)
	if err != nil {
		return Entry{}, fmt.Errorf("%s: %w", s.path(id), err)
	}
	return e, nil
}

// Save writes the entry to a temporary file and renames it into place, so a
// reader sees the old entry or the new one, never half of one.
func (s FileStore) Save(id string, e Entry) error {
	b, err := encode(e)
	if err != nil {
		return fmt.Errorf("encode token cache entry: %w", err)
	}
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return fmt.Errorf("create token cache dir: %w", err)
	}
	tmp, err := os.CreateTemp(s.Dir, id+".*.tmp")
	if err != nil {
		return fmt.Errorf("create token cache file: %w", err)
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
	if err := os.Rename(tmp.Name(), s.path(id)); err != nil {
		return fmt.Errorf("replace %s: %w", s.path(id), err)
	}
	return nil
}

// Delete removes the entry for id; a missing entry is not an error.
func (s FileStore) Delete(id string) error {
	err := os.Remove(s.path(id))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove token cache file: %w", err)
	}
	return nil
}

// DeleteAll removes every entry in the directory and keeps the lock files.
func (s FileStore) DeleteAll() error {
	entries, err := os.ReadDir(s.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read token cache dir: %w", err)
	}
	var errs []error
	for _, de := range entries {
		if strings.HasSuffix(de.Name(), ".json") {
			errs = append(errs, s.Delete(strings.TrimSuffix(de.Name(), ".json")))
		}
	}
	return errors.Join(errs...)
}
