package tokencache

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/zalando/go-keyring"
)

// KeyringService is the service name entries are stored under in the OS keyring.
const KeyringService = "kubectl-aksoidc"

// KeyringStore keeps entries in the OS keyring (Secret Service, Keychain,
// Windows Credential Manager) under one service name.
type KeyringStore struct {
	Service string
	// Timeout bounds each call; zero waits as long as the keyring takes. On
	// Linux a keyring daemon that is stopped or stuck never answers (neither
	// go-keyring's D-Bus calls nor the session bus time out), and kubectl
	// would wait for the plugin forever. A call that runs out of time is a
	// fault (ErrKeyringFault); it goes on in the background, and may still
	// complete, until the process exits.
	Timeout time.Duration

	// secrets is go-keyring; tests inject a keyring that fails on demand.
	secrets secrets
}

// secrets is the part of go-keyring a KeyringStore uses.
type secrets interface {
	Get(service, user string) (string, error)
	Set(service, user, password string) error
	Delete(service, user string) error
	DeleteAll(service string) error
}

type goKeyring struct{}

func (goKeyring) Get(service, user string) (string, error) { return keyring.Get(service, user) }
func (goKeyring) Set(service, user, password string) error {
	return keyring.Set(service, user, password)
}
func (goKeyring) Delete(service, user string) error { return keyring.Delete(service, user) }
func (goKeyring) DeleteAll(service string) error    { return keyring.DeleteAll(service) }

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
	var v string
	err := s.call(func(k secrets) (err error) {
		v, err = k.Get(s.Service, id)
		return err
	})
	if errors.Is(err, keyring.ErrNotFound) {
		return Entry{}, ErrNotFound
	}
	if err != nil {
		return Entry{}, err
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
	return s.call(func(k secrets) error { return k.Set(s.Service, id, string(b)) })
}

// Delete removes the entry for id; a missing entry is not an error.
func (s KeyringStore) Delete(id string) error {
	err := s.call(func(k secrets) error { return k.Delete(s.Service, id) })
	if errors.Is(err, keyring.ErrNotFound) {
		return nil
	}
	return err
}

// DeleteAll removes every entry of the service.
func (s KeyringStore) DeleteAll() error {
	err := s.call(func(k secrets) error { return k.DeleteAll(s.Service) })
	if errors.Is(err, keyring.ErrNotFound) {
		return nil
	}
	return err
}
