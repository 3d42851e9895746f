package tokencache

// NoStore keeps nothing: every run logs in (--token-cache-storage none).
type NoStore struct{}

// Load finds nothing.
func (NoStore) Load(string) (Entry, error) { return Entry{}, ErrNotFound }

// Save keeps nothing.
func (NoStore) Save(string, Entry) error { return nil }

// Delete has nothing to remove.
func (NoStore) Delete(string) error { return nil }

// DeleteAll has nothing to remove.
func (NoStore) DeleteAll() error { return nil }
