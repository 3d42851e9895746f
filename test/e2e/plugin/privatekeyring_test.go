package plugin_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/aksoidc/aksoidc/pkg/tokencache"
	"github.com/aksoidc/aksoidc/test/poll"
	"github.com/aksoidc/aksoidc/test/syncbuf"
	"github.com/aksoidc/aksoidc/test/tooldir"
)

// secretsName is the well-known bus name of the Secret Service.
const secretsName = "org.freedesktop.secrets"

// busConfig is a session bus with no service files: when the keyring daemon
// is killed, nothing starts a replacement, as on a machine without D-Bus
// activation, and the plugin sees the keyring gone.
const busConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`

// privateKeyring is one test's own session bus and gnome-keyring-daemon, so
// the test can stop or kill the daemon without touching the suite's keyring
// (hack/with-keyring.sh), which the parallel tests share.
type privateKeyring struct {
	// env points the plugin at this bus: DBUS_SESSION_BUS_ADDRESS.
	env []string

	dir    string // the sockets' and the keyring's
	daemon *exec.Cmd
	exited chan struct{}
	log    *syncbuf.Buffer
	conn   *dbus.Conn // the test's own connection to the bus
	// barriers counts forgetCalls' calls, each told apart by its number.
	barriers int
	// calls are the method calls to the Secret Service the bus routed,
	// as its monitor sees them.
	calls chan *dbus.Message
}

// startPrivateKeyring starts the bus and an unlocked keyring on it and
// returns once the keyring owns the Secret Service name. Everything stops
// when the test ends.
func startPrivateKeyring(t *testing.T) *privateKeyring {
	t.Helper()
	// A short directory: a unix socket path holds at most 107 bytes, and
	// t.TempDir() names the test.
	dir, err := os.MkdirTemp("", "aksoidc-keyring-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	addr := startBus(t, dir)
	k := &privateKeyring{env: []string{"DBUS_SESSION_BUS_ADDRESS=" + addr}, dir: dir}
	for _, sub := range []string{"run", "data"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	k.conn = dial(t, addr)
	k.startDaemon(t)
	t.Cleanup(func() { k.kill(t) })
	k.monitor(t, addr)
	return k
}

// startDaemon starts gnome-keyring-daemon and waits until it owns the
// Secret Service name. The keyring it creates (or finds, after restart) is
// unlocked with the password on its stdin.
func (k *privateKeyring) startDaemon(t *testing.T) {
	t.Helper()
	daemonPath := lookPath(t, "gnome-keyring-daemon", "gnome-keyring")
	// Not t.Context(): it ends before the cleanups that stop the daemon run.
	k.daemon = exec.CommandContext(context.Background(), daemonPath, "--foreground", "--unlock", "--components=secrets")
	k.daemon.Env = environ(append([]string{"XDG_RUNTIME_DIR=" + filepath.Join(k.dir, "run"), "XDG_DATA_HOME=" + filepath.Join(k.dir, "data")}, k.env...))
	k.daemon.Stdin = strings.NewReader("pw")
	k.log = &syncbuf.Buffer{}
	k.daemon.Stdout, k.daemon.Stderr = k.log, k.log
	if err := k.daemon.Start(); err != nil {
		t.Fatalf("start gnome-keyring-daemon: %v", err)
	}
	exited := make(chan struct{})
	k.exited = exited
	go func(cmd *exec.Cmd) { _ = cmd.Wait(); close(exited) }(k.daemon)
	k.waitForSecretService(t)
}

// restart kills the daemon and starts a new one on the same keyring, as
// D-Bus activation or the next login session would: it holds what the
// killed daemon had written to disk.
func (k *privateKeyring) restart(t *testing.T) {
	t.Helper()
	k.kill(t)
	k.startDaemon(t)
}

// startBus runs dbus-daemon on a socket in dir and returns its address.
func startBus(t *testing.T, dir string) string {
	t.Helper()
	busPath := lookPath(t, "dbus-daemon", "dbus-daemon")
	conf := filepath.Join(dir, "bus.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, busConfig, filepath.Join(dir, "bus")), 0o600); err != nil {
		t.Fatal(err)
	}
	bus := exec.CommandContext(context.Background(), busPath, "--config-file="+conf, "--nofork", "--print-address")
	log := &syncbuf.Buffer{}
	bus.Stderr = log
	out, err := bus.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := bus.Start(); err != nil {
		t.Fatalf("start dbus-daemon: %v", err)
	}
	t.Cleanup(func() { _ = bus.Process.Kill(); _ = bus.Wait() })
	// The address is printed once the bus listens.
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("dbus-daemon printed no address (%v); its stderr:\n%s", err, log)
	}
	return strings.TrimSpace(addr)
}

func lookPath(t *testing.T, binary, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(binary)
	if err != nil {
		tooldir.Missing(t, "%s is not installed (apt-get install %s): %v", binary, pkg, err)
	}
	return p
}

func dial(t *testing.T, addr string) *dbus.Conn {
	t.Helper()
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatalf("connect to the test's session bus: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// waitForSecretService waits until the test's daemon owns the Secret
// Service name: --unlock returns before it does, and after restart the bus
// may not have dropped the killed daemon's name yet.
func (k *privateKeyring) waitForSecretService(t *testing.T) {
	t.Helper()
	want := uint32(k.daemon.Process.Pid) //nolint:gosec // G115: a pid fits
	poll.Until(t, 30*time.Second, func() bool {
		var pid uint32
		err := k.conn.BusObject().Call("org.freedesktop.DBus.GetConnectionUnixProcessID", 0, secretsName).Store(&pid)
		return err == nil && pid == want
	})
}

// monitor makes a connection a bus monitor (as dbus-monitor does) of the
// method calls to the Secret Service: a call it sees has reached the bus,
// which queues it for the daemon.
func (k *privateKeyring) monitor(t *testing.T, addr string) {
	t.Helper()
	conn := dial(t, addr)
	rules := []string{"type='method_call',destination='" + secretsName + "'"}
	if err := conn.BusObject().Call("org.freedesktop.DBus.Monitoring.BecomeMonitor", 0, rules, uint32(0)); err.Err != nil {
		t.Fatalf("become a bus monitor: %v", err.Err)
	}
	// godbus drops what does not fit: far more than a test's calls.
	k.calls = make(chan *dbus.Message, 1024)
	conn.Eavesdrop(k.calls)
	// godbus v5.2.2's Close closes this channel but leaves it set, and its reader may still be
	// handed a message before the socket closes: a send on the closed channel panics the whole
	// test binary (seen once in CI). Detached first (cleanups run last in, first out), nothing
	// is sent to it once the test ends.
	t.Cleanup(func() { conn.Eavesdrop(nil) })
}

// forgetCalls drops the calls the monitor has seen so far, and returns once
// the daemon has answered them. It sends a call of the test's own, a search
// for a made-up attribute, and waits for its answer: the bus gives the
// monitor the messages in the order it routes them, and the daemon answers
// Secret Service calls in the order they come. (Not a D-Bus Ping: GDBus
// answers that at once on its own thread, ahead of calls still queued.)
func (k *privateKeyring) forgetCalls(t *testing.T) {
	t.Helper()
	k.barriers++
	nonce := strconv.Itoa(k.barriers)
	search := map[string]string{"aksoidc-test-barrier": nonce}
	var unlocked, locked []dbus.ObjectPath
	err := k.conn.Object(secretsName, "/org/freedesktop/secrets").Call("org.freedesktop.Secret.Service.SearchItems", 0, search).Store(&unlocked, &locked)
	if err != nil {
		t.Fatalf("search the keyring: %v", err)
	}
	for {
		select {
		case msg, ok := <-k.calls:
			if !ok {
				t.Fatal("the bus monitor's connection closed")
			}
			if len(msg.Body) == 1 {
				if attrs, ok := msg.Body[0].(map[string]string); ok && attrs["aksoidc-test-barrier"] == nonce {
					return
				}
			}
		case <-time.After(time.Minute):
			t.Fatal("the bus monitor did not see the test's own call within a minute")
		}
	}
}

// waitForCall waits until a method call to the Secret Service reaches the
// bus and returns its member name (Unlock, OpenSession, ...).
func (k *privateKeyring) waitForCall(t *testing.T) string {
	t.Helper()
	select {
	case msg, ok := <-k.calls:
		if !ok {
			t.Fatal("the bus monitor's connection closed")
		}
		member, _ := msg.Headers[dbus.FieldMember].Value().(string)
		return member
	case <-time.After(time.Minute):
		t.Fatal("no call to the Secret Service reached the bus within a minute")
		return ""
	}
}

// waitForCallTo waits until a call of member reaches the bus, passing over
// the calls before it.
func (k *privateKeyring) waitForCallTo(t *testing.T, member string) {
	t.Helper()
	for k.waitForCall(t) != member {
		continue
	}
}

// stop freezes the daemon (SIGSTOP): calls reach it and get no answer.
// waitForCall then returns only the calls made after stop.
func (k *privateKeyring) stop(t *testing.T) {
	t.Helper()
	k.forgetCalls(t)
	if err := k.daemon.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatalf("stop gnome-keyring-daemon: %v", err)
	}
}

// resume lets a stopped daemon run again (SIGCONT).
func (k *privateKeyring) resume(t *testing.T) {
	t.Helper()
	if err := k.daemon.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatalf("resume gnome-keyring-daemon: %v", err)
	}
}

// kill kills the daemon (SIGKILL, which also ends a stopped one) and waits
// until it is gone, so the bus has dropped its name.
func (k *privateKeyring) kill(t *testing.T) {
	t.Helper()
	select {
	case <-k.exited:
		return
	default:
	}
	if err := k.daemon.Process.Kill(); err != nil {
		t.Errorf("kill gnome-keyring-daemon: %v", err)
	}
	<-k.exited
}

// killDuringCall kills a stopped daemon once a call to it has reached the
// bus, so the caller is waiting for an answer that never comes.
func (k *privateKeyring) killDuringCall(t *testing.T) {
	t.Helper()
	t.Logf("killing the keyring daemon during its %s call", k.waitForCall(t))
	k.kill(t)
}

// secret is a Secret Service secret: session, parameters, value, content type.
type secret struct {
	Session     dbus.ObjectPath
	Parameters  []byte
	Value       []byte
	ContentType string
}

// entry reads the plugin's keyring item for id straight from the daemon, as
// go-keyring stores it (attributes service and username), without the plugin
// and its fallback to files.
func (k *privateKeyring) entry(t *testing.T, id string) (tokencache.Entry, bool) {
	t.Helper()
	svc := k.conn.Object(secretsName, "/org/freedesktop/secrets")
	attrs := map[string]string{"service": tokencache.KeyringService, "username": id}
	var unlocked, locked []dbus.ObjectPath
	if err := svc.Call("org.freedesktop.Secret.Service.SearchItems", 0, attrs).Store(&unlocked, &locked); err != nil {
		t.Fatalf("search the keyring: %v", err)
	}
	if len(unlocked)+len(locked) == 0 {
		return tokencache.Entry{}, false
	}
	if len(unlocked) != 1 {
		t.Fatalf("the keyring holds %d unlocked and %d locked items for %s, want one unlocked", len(unlocked), len(locked), id)
	}
	var out dbus.Variant
	var session dbus.ObjectPath
	if err := svc.Call("org.freedesktop.Secret.Service.OpenSession", 0, "plain", dbus.MakeVariant("")).Store(&out, &session); err != nil {
		t.Fatalf("open a keyring session: %v", err)
	}
	defer k.conn.Object(secretsName, session).Call("org.freedesktop.Secret.Session.Close", 0)
	var s secret
	if err := k.conn.Object(secretsName, unlocked[0]).Call("org.freedesktop.Secret.Item.GetSecret", 0, session).Store(&s); err != nil {
		t.Fatalf("read the keyring item: %v", err)
	}
	var e tokencache.Entry
	if err := json.Unmarshal(s.Value, &e); err != nil {
		t.Fatalf("the keyring item is not a cache entry: %v", err)
	}
	return e, true
}
