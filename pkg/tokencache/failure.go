package tokencache

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// FailureMarks remember, per key, when the last login failed. A background
// caller (an IDE or dashboard polling kubectl without a terminal) would
// otherwise open a browser tab on every poll while nobody is at the screen.
// They use Dir only when CheckDir accepts it; an empty Dir remembers nothing.
type FailureMarks struct {
	Dir string
}

func (m FailureMarks) path(id string) string {
	return filepath.Join(m.Dir, id+".failed")
}

// Last returns when and why the last login for id failed; ok is false when
// none is recorded or the record is unreadable.
func (m FailureMarks) Last(id string) (at time.Time, reason string, ok bool) {
	if m.Dir == "" {
		return time.Time{}, "", false
	}
	if exists, err := useDir(m.Dir, false); err != nil || !exists {
		return time.Time{}, "", false
	}
	b, err := readFile(m.path(id))
	if err != nil {
		return time.Time{}, "", false
	}
	stamp, reason, _ := strings.Cut(string(b), " ")
	at, err = time.Parse(time.RFC3339, stamp)
	return at, reason, err == nil
}

// Record notes a failed login. The reason must not hold secrets.
func (m FailureMarks) Record(id string, at time.Time, reason string) error {
	if m.Dir == "" {
		return nil
	}
	if _, err := useDir(m.Dir, true); err != nil {
		return err
	}
	line := at.UTC().Format(time.RFC3339) + " " + strings.ReplaceAll(reason, "\n", " ")
	if err := replaceFile(m.Dir, id+".failed", []byte(line)); err != nil {
		return fmt.Errorf("record failed login: %w", err)
	}
	return nil
}

// Clear forgets a failed login once a login succeeds.
func (m FailureMarks) Clear(id string) error {
	if m.Dir == "" {
		return nil
	}
	if exists, err := useDir(m.Dir, false); err != nil || !exists {
		return err
	}
	err := os.Remove(m.path(id))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("clear failed login: %w", err)
	}
	return nil
}
