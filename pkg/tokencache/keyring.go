package tokencache

import (
	"errors"
	"fmt"

	"github.com/zalando/go-keyring"
)

// KeyringService is the service name entries are stored under in the OS keyring.
const KeyringService = "kubectl-aksoidc"

// KeyringStore keeps entries in the OS keyring (Secret Service, Keychain,
// Windows Credential Manager) under one service name.
type KeyringStore struct {
	Service string
}

// Load reads the entry for id.
func (s KeyringStore) Load(id string) (Entry, error) {
	v, err := keyring.Get(s.Service, id)
	if errors.Is(err, keyring.ErrNotFound) {
		return Entry{}, ErrNotFound
	}
	if err != nil {
		return Entry{}, fmt.Errorf("keyring: %w", err)
	}
	e, err := decode([]byte(v))
	if err != nil {
		return Entry{}, fmt.Errorf("keyring item %s: %w", id, err)
	}
	return e, nil
}

// Save stores the entry for id.
func (s KeyringStore) Save(id string, e Entry) error {
	b, err := encode(e)
	if err != nil {
		return fmt.Errorf("encode token cache entry: %w", err)
	}
	if err := keyring.Set(s.Service, id, string(b)); err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	return nil
}

// Delete removes the entry for id; a missing entry is not an error.
func (s KeyringStore) Delete(id string) error {
	err := keyring.Delete(s.Service, id)
	if err != nil && !errors.Is(err, keyring.ErrNotFound) {
		return fmt.Errorf("keyring: %w", err)
	}
	return nil
}

// DeleteAll removes every entry of the service.
func (s KeyringStore) DeleteAll() error {
	err := keyring.DeleteAll(s.Service)
	if err != nil && !errors.Is(err, keyring.ErrNotFound) {
		return fmt.Errorf("keyring: %w", err)
	}
	return nil
}
