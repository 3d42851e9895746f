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
// whenever Primary fails, so a missing, locked, hung or killed keyring never
// fails a login. Notify is called once, with the first Primary error. Wrap a
// keyring Primary in StopAfterFault, so a keyring that did not answer in
// time is not asked again.
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
// unusable stays reachable after it comes back. When both hold an entry, the
// newer one wins (see newer).
func (f *Fallback) Load(id string) (Entry, error) {
	e, err := f.Primary.Load(id)
	if err == nil {
		return f.newer(id, e), nil
	}
	if !errors.Is(err, ErrNotFound) {
		f.degrade(err)
	}
	return f.Secondary.Load(id)
}

// newer returns Secondary's copy of id instead of e, Primary's, unless e
// expires later. Both stores hold an entry only after a Primary save failed,
// and then either may be stale: a keyring save that timed out may still
// complete after the file copy was written (the same entry, or an older one
// behind a newer one that went to the file), and a keyring killed
// mid-save keeps the entry from before the save, whose refresh token the
// issuer has since rotated away. Were the keyring to win, that stale refresh
// token would be refused and the user sent to log in again. A newer entry
// holds a token issued later, so it expires later; on a tie they are the
// same entry. A Secondary that cannot be read leaves e.
func (f *Fallback) newer(id string, e Entry) Entry {
	other, err := f.Secondary.Load(id)
	if err != nil || other.Expiry.Before(e.Expiry) {
		return e
	}
	return other
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
	if err := f.Primary.Delete(id); err != nil {
		f.degrade(err)
	}
	return f.Secondary.Delete(id)
}

// DeleteAll removes every entry from both stores.
func (f *Fallback) DeleteAll() error {
	if err := f.Primary.DeleteAll(); err != nil {
		f.degrade(err)
	}
	return f.Secondary.DeleteAll()
}
