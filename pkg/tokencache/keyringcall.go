package tokencache

import (
	"errors"
	"fmt"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/zalando/go-keyring"
)

// ErrKeyringFault marks a keyring that was reached and failed mid-call: it
// gave no answer within KeyringStore.Timeout, or its daemon went away before
// answering. Unlike a keyring that is simply absent, this costs the user a
// wait and moves the token to the file store, so it is worth a warning; and
// StopAfterFault does not ask that keyring again.
var ErrKeyringFault = errors.New("the keyring failed mid-call")

// faultError is a keyring fault with its cause.
type faultError struct{ cause error }

func (e faultError) Error() string   { return "keyring: " + e.cause.Error() }
func (e faultError) Unwrap() []error { return []error{ErrKeyringFault, e.cause} }

// noReply is the error the session bus sends for a pending call when the
// callee disconnects without answering (the keyring daemon was killed).
const noReply = "org.freedesktop.DBus.Error.NoReply"

// call runs op against the keyring, bounded by s.Timeout. Its error is
// keyring.ErrNotFound as it is, a faultError, or another keyring error
// wrapped as "keyring: ...".
func (s KeyringStore) call(op func(secrets) error) error {
	if err := available(); err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	k := s.secrets
	if k == nil {
		k = goKeyring{}
	}
	if s.Timeout <= 0 {
		return classify(op(k))
	}
	// Buffered: a call that outlives its timeout ends without a reader.
	done := make(chan error, 1)
	go func() { done <- op(k) }()
	timer := time.NewTimer(s.Timeout)
	defer timer.Stop()
	select {
	case err := <-done:
		return classify(err)
	case <-timer.C:
		return faultError{fmt.Errorf("no answer within %s", s.Timeout)}
	}
}

func classify(err error) error {
	var dbusErr dbus.Error
	switch {
	case err == nil, errors.Is(err, keyring.ErrNotFound):
		return err
	case errors.As(err, &dbusErr) && dbusErr.Name == noReply:
		return faultError{err}
	default:
		return fmt.Errorf("keyring: %w", err)
	}
}
