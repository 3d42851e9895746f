package tokencache

import (
	"errors"
	"testing"
)

// brokenStore stands in for a keyring that is missing or refuses a value: no
// real keyring can be made to fail on demand inside one test.
type brokenStore struct{ err error }

func (b brokenStore) Load(string) (Entry, error) { return Entry{}, b.err }
func (b brokenStore) Save(string, Entry) error   { return b.err }
func (b brokenStore) Delete(string) error        { return b.err }
func (b brokenStore) DeleteAll() error           { return b.err }

func TestFallbackUsesFileWhenKeyringFails(t *testing.T) {
	file := FileStore{Dir: t.TempDir()}
	var notes []error
	f := &Fallback{
		Primary:   brokenStore{errors.New("the name org.freedesktop.secrets was not provided")},
		Secondary: file,
		Notify:    func(err error) { notes = append(notes, err) },
	}
	if err := f.Save("k", Entry{IDToken: "t"}); err != nil {
		t.Fatalf("Save: %v", err)
	}
	if e, err := f.Load("k"); err != nil || e.IDToken != "t" {
		t.Fatalf("Load: %+v, %v", e, err)
	}
	if e, err := file.Load("k"); err != nil || e.IDToken != "t" {
		t.Fatalf("the entry is not in the file store: %+v, %v", e, err)
	}
	if len(notes) != 1 {
		t.Errorf("Notify called %d times, want once", len(notes))
	}
}

func TestFallbackRemovesStaleFileCopy(t *testing.T) {
	primary := FileStore{Dir: t.TempDir()} // a working store in the keyring's place
	file := FileStore{Dir: t.TempDir()}
	if err := file.Save("k", Entry{RefreshToken: "old"}); err != nil {
		t.Fatal(err)
	}
	f := &Fallback{Primary: primary, Secondary: file}
	if e, err := f.Load("k"); err != nil || e.RefreshToken != "old" {
		t.Fatalf("an entry saved while the keyring was down is not found: %+v, %v", e, err)
	}
	if err := f.Save("k", Entry{RefreshToken: "new"}); err != nil {
		t.Fatal(err)
	}
	if _, err := file.Load("k"); !errors.Is(err, ErrNotFound) {
		t.Errorf("the file store still holds the old refresh token: %v", err)
	}
	if e, _ := f.Load("k"); e.RefreshToken != "new" {
		t.Errorf("Load after Save: got %q", e.RefreshToken)
	}
}
