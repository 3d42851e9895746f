package tokencache

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aksoidc/aksoidc/test/tooldir"
)

// requireSecretService needs a real Secret Service: `make test` runs the suite
// inside dbus-run-session with gnome-keyring unlocked.
func requireSecretService(t *testing.T) {
	t.Helper()
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") != "" {
		return
	}
	tooldir.Missing(t, "no D-Bus session: run the tests with `make test` for the real keyring")
}

func TestKeyringStoreRealSecretService(t *testing.T) {
	requireSecretService(t)
	s := KeyringStore{Service: "kubectl-aksoidc-test-" + strings.ReplaceAll(t.Name(), "/", "-")}
	t.Cleanup(func() { _ = s.DeleteAll() })
	want := Entry{IDToken: "id", RefreshToken: "rt", Expiry: time.Unix(1800000000, 0).UTC()}
	if _, err := s.Load("k"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Load before Save: %v, want ErrNotFound", err)
	}
	if err := s.Save("k", want); err != nil {
		t.Fatalf("Save: %v", err)
	}
	got, err := s.Load("k")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("entry (-want +got):\n%s", diff)
	}
	if err := s.Delete("k"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load("k"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Load after Delete: %v", err)
	}
}

func TestKeyringWithoutSessionBusIsUnavailable(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	s := KeyringStore{Service: KeyringService}
	want := "keyring: " + errNoSessionBus.Error()
	if _, err := s.Load("k"); err == nil || err.Error() != want {
		t.Errorf("Load: %v, want %q", err, want)
	}
	if err := s.Save("k", Entry{IDToken: "t"}); err == nil || err.Error() != want {
		t.Errorf("Save: %v, want %q", err, want)
	}
}
