package tokencache

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// FileStore keeps one 0600 JSON file per key in a 0700 directory. It uses Dir
// only when CheckDir accepts it; an empty Dir keeps nothing.
type FileStore struct {
	Dir string
}

func (s FileStore) path(id string) string {
	return filepath.Join(s.Dir, id+".json")
}

// Load reads the entry for id.
func (s FileStore) Load(id string) (Entry, error) {
	if s.Dir == "" {
		return Entry{}, ErrNotFound
	}
	if exists, err := useDir(s.Dir, false); err != nil || !exists {
		return Entry{}, notFoundOr(err)
	}
	b, err := readFile(s.path(id))
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

func notFoundOr(err error) error {
	if err == nil {
		return ErrNotFound
	}
	return err
}

// Save writes the entry to a temporary file and renames it into place, so a
// reader sees the old entry or the new one, never half of one.
func (s FileStore) Save(id string, e Entry) error {
	if s.Dir == "" {
		return nil
	}
	b, err := encode(e)
	if err != nil {
		return fmt.Errorf("encode token cache entry: %w", err)
	}
	if _, err := useDir(s.Dir, true); err != nil {
		return err
	}
	return replaceFile(s.Dir, id+".json", b)
}

// Delete removes the entry for id; a missing entry is not an error.
func (s FileStore) Delete(id string) error {
	if s.Dir == "" {
		return nil
	}
	if exists, err := useDir(s.Dir, false); err != nil || !exists {
		return err
	}
	err := os.Remove(s.path(id))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove token cache file: %w", err)
	}
	return nil
}

// DeleteAll removes every entry in the directory and keeps the lock files.
func (s FileStore) DeleteAll() error {
	if s.Dir == "" {
		return nil
	}
	if exists, err := useDir(s.Dir, false); err != nil || !exists {
		return err
	}
	entries, err := os.ReadDir(s.Dir)
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
