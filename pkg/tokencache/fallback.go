package tokencache

import (
	"errors"
	"sync"
)

// Store is the storage a Fallback combines.
type Store interface {
	Load(id string) (Entry, error)
	Save(id string, e Entry) error
	Delete(id string) error
	DeleteAll() error
}

// Fallback prefers Primary (the keyring) and uses Secondary (the file store)
// whenever Primary fails, so a missing, locked or size-limited keyring never
// fails a login. Notify is called once, with the first Primary error.
type Fallback struct {
	Primary, Secondary Store
	Notify             func(error)

	once sync.Once
}

func (f *Fallback) degrade(err error) {
	f.once.Do(func() {
		if f.Notify != nil {
			f.Notify(err)
		}
	})
}

// Load reads Primary, then Secondary: an entry saved while the keyring was
// unusable stays reachable after it comes back.
func (f *Fallback) Load(id string) (Entry, error) {
	e, err := f.Primary.Load(id)
	if err == nil {
		return e, nil
	}
	if !errors.Is(err, ErrNotFound) {
		f.degrade(err)
	}
	return f.Secondary.Load(id)
}

// Save writes Primary and removes a stale Secondary copy, or writes Secondary
// when Primary refuses.
func (f *Fallback) Save(id string, e Entry) error {
	if err := f.Primary.Save(id, e); err != nil {
		f.degrade(err)
		return f.Secondary.Save(id, e)
	}
	// The file copy may hold an older refresh token: do not leave it behind.
	return f.Secondary.Delete(id)
}

// Delete removes the entry from both stores.
func (f *Fallback) Delete(id string) error {
	perr := f.Primary.Delete(id)
	if perr != nil {
		f.degrade(perr)
	}
	return f.Secondary.Delete(id)
}

// DeleteAll removes every entry from both stores.
func (f *Fallback) DeleteAll() error {
	perr := f.Primary.DeleteAll()
	if perr != nil {
		f.degrade(perr)
	}
	return f.Secondary.DeleteAll()
}
