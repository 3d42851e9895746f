package tokencache

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/zalando/go-keyring"
)

// KeyringService is the service name entries are stored under in the OS keyring.
const KeyringService = "kubectl-aksoidc"

// KeyringStore keeps entries in the OS keyring (Secret Service, Keychain,
// Windows Credential Manager) under one service name.
type KeyringStore struct {
	Service string
}

// errNoSessionBus is returned instead of letting D-Bus autolaunch a session
// bus: each launch leaves a bus and a keyring daemon behind, and the new
// keyring would be locked anyway (containers, SSH, WSL).
var errNoSessionBus = errors.New("no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is empty and $XDG_RUNTIME_DIR/bus does not exist)")

// available reports whether the keyring can be reached without side effects.
func available() error {
	if runtime.GOOS == "darwin" || runtime.GOOS == "windows" {
		return nil
	}
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") != "" {
		return nil
	}
	if dir := os.Getenv("XDG_RUNTIME_DIR"); dir != "" {
		// The user's own runtime dir, where systemd puts the session bus.
		if _, err := os.Stat(filepath.Join(dir, "bus")); err == nil { //nolint:gosec // G703: not attacker input
			return nil
		}
	}
	return errNoSessionBus
}

// Load reads the entry for id.
func (s KeyringStore) Load(id string) (Entry, error) {
	if err := available(); err != nil {
		return Entry{}, fmt.Errorf("keyring: %w", err)
	}
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
	if err := available(); err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
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
	if err := available(); err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	err := keyring.Delete(s.Service, id)
	if err != nil && !errors.Is(err, keyring.ErrNotFound) {
		return fmt.Errorf("keyring: %w", err)
	}
	return nil
}

// DeleteAll removes every entry of the service.
func (s KeyringStore) DeleteAll() error {
	if err := available(); err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	err := keyring.DeleteAll(s.Service)
	if err != nil && !errors.Is(err, keyring.ErrNotFound) {
		return fmt.Errorf("keyring: %w", err)
	}
	return nil
}
