package tokencache

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/zalando/go-keyring"
)

// stuckKeyring stands in for a keyring daemon that stops answering (SIGSTOP)
// until resume is closed, and then answers what it was asked: no real daemon
// can be held mid-call inside a unit test (test/e2e/plugin does it for real).
type stuckKeyring struct {
	resume chan struct{}

	mu    sync.Mutex
	items map[string]string
}

func newStuckKeyring(t *testing.T) *stuckKeyring {
	k := &stuckKeyring{resume: make(chan struct{}), items: map[string]string{}}
	t.Cleanup(k.answer)
	return k
}

// answer lets every call, waiting or to come, through.
func (k *stuckKeyring) answer() {
	k.mu.Lock()
	defer k.mu.Unlock()
	select {
	case <-k.resume:
	default:
		close(k.resume)
	}
}

func (k *stuckKeyring) Get(_, user string) (string, error) {
	<-k.resume
	k.mu.Lock()
	defer k.mu.Unlock()
	v, ok := k.items[user]
	if !ok {
		return "", keyring.ErrNotFound
	}
	return v, nil
}

func (k *stuckKeyring) Set(_, user, password string) error {
	<-k.resume
	k.mu.Lock()
	defer k.mu.Unlock()
	k.items[user] = password
	return nil
}

func (k *stuckKeyring) Delete(string, string) error { <-k.resume; return nil }
func (k *stuckKeyring) DeleteAll(string) error      { <-k.resume; return nil }

// failingKeyring answers every call with err at once.
type failingKeyring struct{ err error }

func (k failingKeyring) Get(string, string) (string, error) { return "", k.err }
func (k failingKeyring) Set(string, string, string) error   { return k.err }
func (k failingKeyring) Delete(string, string) error        { return k.err }
func (k failingKeyring) DeleteAll(string) error             { return k.err }

// withSessionBus lets available() pass: the keyring under test is a fake.
func withSessionBus(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
}

func TestKeyringCallFaults(t *testing.T) {
	withSessionBus(t)
	killed := dbus.Error{Name: noReply, Body: []any{"Message recipient disconnected from message bus without replying"}}
	absent := dbus.Error{Name: "org.freedesktop.DBus.Error.ServiceUnknown", Body: []any{"The name org.freedesktop.secrets was not provided by any .service files"}}
	stuck := newStuckKeyring(t)
	tests := []struct {
		name      string
		secrets   secrets
		wantErr   string
		wantFault bool
	}{
		{"hung daemon", stuck, "keyring: no answer within 20ms", true},
		{"daemon killed mid-call", failingKeyring{killed}, "keyring: Message recipient disconnected from message bus without replying", true},
		{"no keyring daemon", failingKeyring{absent}, "keyring: The name org.freedesktop.secrets was not provided by any .service files", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := KeyringStore{Service: "svc", Timeout: 20 * time.Millisecond, secrets: tt.secrets}
			ops := map[string]error{
				"Save":      s.Save("k", Entry{IDToken: "t"}),
				"Delete":    s.Delete("k"),
				"DeleteAll": s.DeleteAll(),
			}
			_, ops["Load"] = s.Load("k")
			for op, err := range ops {
				if err == nil || err.Error() != tt.wantErr {
					t.Errorf("%s: %v, want %q", op, err, tt.wantErr)
				}
				if got := errors.Is(err, ErrKeyringFault); got != tt.wantFault {
					t.Errorf("%s: errors.Is(err, ErrKeyringFault) = %t, want %t", op, got, tt.wantFault)
				}
			}
		})
	}
}

// countingStore counts the calls that reach the store it wraps.
type countingStore struct {
	Store
	calls atomic.Int32
}

func (c *countingStore) Load(id string) (Entry, error) { c.calls.Add(1); return c.Store.Load(id) }
func (c *countingStore) Save(id string, e Entry) error { c.calls.Add(1); return c.Store.Save(id, e) }
func (c *countingStore) Delete(id string) error        { c.calls.Add(1); return c.Store.Delete(id) }

// TestFallbackAfterKeyringTimeout: a keyring that stops answering costs one
// timeout and one notice (StopAfterFault, as OpenCache builds it), and the
// run goes on with the file store alone.
func TestFallbackAfterKeyringTimeout(t *testing.T) {
	withSessionBus(t)
	stuck := newStuckKeyring(t)
	primary := &countingStore{Store: KeyringStore{Service: "svc", Timeout: 20 * time.Millisecond, secrets: stuck}}
	file := FileStore{Dir: t.TempDir()}
	var notes []string
	f := &Fallback{Primary: StopAfterFault(primary), Secondary: file, Notify: func(err error) { notes = append(notes, err.Error()) }}

	if _, err := f.Load("k"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Load with a hung keyring: %v, want ErrNotFound from the file store", err)
	}
	want := Entry{IDToken: "id", RefreshToken: "rt", Expiry: time.Unix(1800000000, 0).UTC()}
	if err := f.Save("k", want); err != nil {
		t.Fatalf("Save: %v", err)
	}
	if err := f.Delete("other"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if got, err := file.Load("k"); err != nil || !cmp.Equal(got, want) {
		t.Errorf("file store holds %+v (err %v), want %+v", got, err, want)
	}
	if n := primary.calls.Load(); n != 1 {
		t.Errorf("the hung keyring was asked %d times, want once", n)
	}
	if diff := cmp.Diff([]string{"keyring: no answer within 20ms"}, notes); diff != "" {
		t.Errorf("notices (-want +got):\n%s", diff)
	}
}

// TestFallbackLoadPrefersNewerEntry: when both stores hold an entry (a
// keyring save failed or timed out, and may have completed later), the one
// that expires later wins, so a refresh token the issuer rotated away never
// shadows its successor.
func TestFallbackLoadPrefersNewerEntry(t *testing.T) {
	older := Entry{IDToken: "old", RefreshToken: "rotated-away", Expiry: time.Unix(1800000000, 0).UTC()}
	newer := Entry{IDToken: "new", RefreshToken: "current", Expiry: older.Expiry.Add(time.Hour)}
	same := Entry{IDToken: "same", RefreshToken: "current", Expiry: older.Expiry}
	tests := []struct {
		name          string
		keyring, file *Entry
		want          Entry
	}{
		{"keyring killed mid-save keeps the older entry", &older, &newer, newer},
		{"file copy left behind is older", &newer, &older, newer},
		{"timed-out save completed later", &same, &same, same},
		{"keyring only", &older, nil, older},
		{"file only", nil, &newer, newer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			primary, file := FileStore{Dir: t.TempDir()}, FileStore{Dir: t.TempDir()} // a working store in the keyring's place
			for store, e := range map[*FileStore]*Entry{&primary: tt.keyring, &file: tt.file} {
				if e != nil {
					if err := store.Save("k", *e); err != nil {
						t.Fatal(err)
					}
				}
			}
			got, err := (&Fallback{Primary: primary, Secondary: file}).Load("k")
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("entry (-want +got):\n%s", diff)
			}
		})
	}
}

// TestKeyringSaveCompletesAfterTimeout: a save that timed out went to the
// file; when the keyring resumes and stores it after all, the next run finds
// that entry and not the one the keyring held before.
func TestKeyringSaveCompletesAfterTimeout(t *testing.T) {
	withSessionBus(t)
	stuck := newStuckKeyring(t)
	before := Entry{IDToken: "old", RefreshToken: "rotated-away", Expiry: time.Unix(1800000000, 0).UTC()}
	b, _ := encode(before)
	stuck.items["k"] = string(b)
	file := FileStore{Dir: t.TempDir()}
	saved := Entry{IDToken: "new", RefreshToken: "current", Expiry: before.Expiry.Add(time.Hour)}
	first := &Fallback{Primary: KeyringStore{Service: "svc", Timeout: 20 * time.Millisecond, secrets: stuck}, Secondary: file}
	if err := first.Save("k", saved); err != nil {
		t.Fatalf("Save with a hung keyring: %v", err)
	}

	next := &Fallback{Primary: KeyringStore{Service: "svc", secrets: stuck}, Secondary: file}
	stuck.answer() // the daemon resumes: the abandoned save may land before or after this Load
	got, err := next.Load("k")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if diff := cmp.Diff(saved, got); diff != "" {
		t.Errorf("entry (-want +got):\n%s", diff)
	}
}

// TestStopAfterFault: logout reads, then deletes, through one keyring store;
// a hung keyring costs one timeout, not one per call.
func TestStopAfterFault(t *testing.T) {
	withSessionBus(t)
	counted := &countingStore{Store: KeyringStore{Service: "svc", Timeout: 20 * time.Millisecond, secrets: newStuckKeyring(t)}}
	s := StopAfterFault(counted)
	_, loadErr := s.Load("k")
	errs := []error{loadErr, s.Save("k", Entry{IDToken: "t"}), s.Delete("k"), s.DeleteAll()}
	for i, err := range errs {
		if err == nil || err.Error() != "keyring: no answer within 20ms" || !errors.Is(err, ErrKeyringFault) {
			t.Errorf("call %d: %v, want the first call's fault", i, err)
		}
	}
	if n := counted.calls.Load(); n != 1 {
		t.Errorf("the hung keyring was asked %d times, want once", n)
	}
}
