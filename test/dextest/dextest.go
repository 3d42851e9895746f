// Package dextest runs the real, pinned Dex binary as an OIDC issuer for
// tests: memory storage, no approval screen and one mockCallback connector,
// so the authorization code and device flows complete without a human.
package dextest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aksoidc/aksoidc/test/loopback"
	"github.com/aksoidc/aksoidc/test/tooldir"
)

// The identity Dex's mockCallback connector logs in as, every time. The ID
// token's sub claim is not MockUserID but Dex's encoding of it with the
// connector ID "mock".
const (
	MockUserID   = "0-385-28089-0"
	MockUsername = "Kilgore Trout"
	MockEmail    = "kilgore@kilgore.trout"
	MockGroup    = "authors"
)

// loginSuccessful is the log message Dex's server.finalizeLogin writes for
// each completed login, browser and device flow alike.
const loginSuccessful = "login successful"

const (
	startTimeout = 30 * time.Second
	stopTimeout  = 10 * time.Second
)

// Options configures the Dex instance.
type Options struct {
	// IDTokenExpiry is Dex's expiry.idTokens; default 10m.
	IDTokenExpiry time.Duration
	// ClientID is the one public client's ID; default "aksoidc".
	ClientID string
	// TLS serves Dex over https with a certificate from a throw-away CA (CAFile), as
	// kube-apiserver's JWT authenticator requires of an issuer.
	TLS bool
	// Config, when set, is Dex's configuration file instead of the harness's: Start changes
	// only the addresses (the issuer's scheme and host, keeping its path, and web) and the
	// logger, so a test can run a configuration users are told to write. IDTokenExpiry and
	// ClientID are then ignored; ClientID is the first static client's.
	Config map[string]any
	// StartAttempts is how often Start runs Dex when it exits before serving; default 1. Dex's
	// kubernetes storage exits when a CRD it has just created is not served yet ("storage is
	// (re)initializing"), and serves once the CRDs exist.
	StartAttempts int
}

// Server is a running Dex.
type Server struct {
	// IssuerURL is http://127.0.0.1:PORT/dex, or https:// with Options.TLS.
	IssuerURL string
	// CAFile and CAPEM hold the CA that signed Dex's certificate, with Options.TLS.
	CAFile string
	CAPEM  string
	// ClientID is the public client's ID (no secret, any loopback redirect).
	ClientID string
	// LogPath is Dex's JSON log, kept across restarts.
	LogPath string

	bin        string
	configPath string
	addr       string
	serving    servingFiles
	transport  http.RoundTripper

	startAttempts int

	mu   sync.Mutex
	proc *process
}

// process is one run of the Dex binary.
type process struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error // set before exited is closed
}

// Start runs Dex on a free 127.0.0.1 port and returns once its discovery
// document answers. Dex stops when the test ends. The test skips (or fails
// with CI=true) when `make tools` has not built Dex.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.IDTokenExpiry == 0 {
		opts.IDTokenExpiry = 10 * time.Minute
	}
	if opts.ClientID == "" {
		opts.ClientID = "aksoidc"
	}
	bin := tooldir.Dex(t)
	dir := t.TempDir()
	addr := loopback.Addr(t)
	path, clientID, err := issuerPathAndClient(opts)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{
		IssuerURL:  "http://" + addr + path,
		ClientID:   clientID,
		LogPath:    filepath.Join(dir, "dex.log"),
		bin:        bin,
		configPath: filepath.Join(dir, "config.yaml"),
		addr:       addr,
		transport:  http.DefaultTransport,

		startAttempts: max(1, opts.StartAttempts),
	}
	if opts.TLS {
		files := writePKI(t, dir)
		s.IssuerURL, s.CAFile, s.CAPEM, s.serving = "https://"+addr+path, files.caFile, files.caPEM, files
		s.transport = trustingTransport(t, files.caPEM)
	}
	if err := s.writeConfig(opts); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	s.start(t)
	return s
}

// Restart stops Dex and starts it again on the same port and config. Memory
// storage is wiped, so every refresh token and pending login is gone.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.stop()
	s.start(t)
}

// Pause freezes Dex (SIGSTOP) until Resume: a client's connection is accepted
// by the kernel but its request waits, so a test can act while the client is
// between two steps. Dex runs again when the test ends.
func (s *Server) Pause(t testing.TB) {
	t.Helper()
	s.signal(t, syscall.SIGSTOP)
	t.Cleanup(func() { s.signal(t, syscall.SIGCONT) })
}

// Resume lets a paused Dex answer again (SIGCONT).
func (s *Server) Resume(t testing.TB) {
	t.Helper()
	s.signal(t, syscall.SIGCONT)
}

func (s *Server) signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	s.mu.Lock()
	p := s.proc
	s.mu.Unlock()
	if p == nil {
		t.Errorf("dex is not running: cannot send it %v", sig)
		return
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Errorf("send dex %v: %v", sig, err)
	}
}

// Logins returns how many logins Dex completed so far (authorization code and
// device flow), counted from its log across restarts.
func (s *Server) Logins() int {
	data, err := os.ReadFile(s.LogPath)
	if err != nil {
		return 0
	}
	n := 0
	// Only complete lines: Dex may be halfway through writing the last one.
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		var entry struct {
			Msg string `json:"msg"`
		}
		if json.Unmarshal(data[:i], &entry) == nil && entry.Msg == loginSuccessful {
			n++
		}
		data = data[i+1:]
	}
	return n
}

func (s *Server) writeConfig(opts Options) error {
	config := s.config(opts)
	data, err := json.MarshalIndent(config, "", "  ")
	if err != nil {
		return fmt.Errorf("encode dex config: %w", err)
	}
	// JSON is YAML, which is what Dex reads.
	if err := os.WriteFile(s.configPath, data, 0o600); err != nil {
		return fmt.Errorf("write dex config: %w", err)
	}
	return nil
}

// issuerPathAndClient returns the path of the issuer URL and the client ID of opts.
func issuerPathAndClient(opts Options) (path, clientID string, err error) {
	if opts.Config == nil {
		return "/dex", opts.ClientID, nil
	}
	issuer, _ := opts.Config["issuer"].(string)
	u, err := url.Parse(issuer)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", "", fmt.Errorf("dex config: issuer %q is not an absolute URL", issuer)
	}
	clients, _ := opts.Config["staticClients"].([]any)
	if len(clients) == 0 {
		return "", "", errors.New("dex config: no staticClients")
	}
	first, _ := clients[0].(map[string]any)
	clientID, _ = first["id"].(string)
	return strings.TrimSuffix(u.Path, "/"), clientID, nil
}

// config is opts.Config with the test's addresses and logger, or the harness's own.
func (s *Server) config(opts Options) map[string]any {
	if opts.Config != nil {
		config := maps.Clone(opts.Config)
		config["issuer"], config["web"] = s.IssuerURL, s.web()
		config["logger"] = map[string]any{"level": "info", "format": "json"}
		return config
	}
	return map[string]any{
		"issuer":           s.IssuerURL,
		"storage":          map[string]any{"type": "memory"},
		"web":              s.web(),
		"logger":           map[string]any{"level": "info", "format": "json"},
		"oauth2":           map[string]any{"skipApprovalScreen": true},
		"enablePasswordDB": false,
		"expiry":           map[string]any{"idTokens": opts.IDTokenExpiry.String()},
		"connectors":       []any{map[string]any{"type": "mockCallback", "id": "mock", "name": "Mock"}},
		// No redirectURIs: Dex then accepts any http loopback redirect.
		"staticClients": []any{map[string]any{"id": opts.ClientID, "name": opts.ClientID, "public": true}},
	}
}

// web is Dex's web section: plain http, or https with the throw-away certificate.
func (s *Server) web() map[string]any {
	if s.serving.certFile == "" {
		return map[string]any{"http": s.addr}
	}
	return map[string]any{"https": s.addr, "tlsCert": s.serving.certFile, "tlsKey": s.serving.keyFile}
}

// start runs Dex and waits for its discovery document, running it again when it exits before
// serving, up to startAttempts times in all.
func (s *Server) start(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), startTimeout)
	defer cancel()
	for attempt := 1; ; attempt++ {
		err := s.waitReady(ctx, s.launch(t))
		if err == nil {
			return
		}
		if !errors.Is(err, errExitedEarly) || attempt >= s.startAttempts {
			t.Fatalf("%v\ndex log %s:\n%s", err, s.LogPath, tail(s.LogPath))
		}
		t.Logf("%v (attempt %d of %d); starting it again", err, attempt, s.startAttempts)
	}
}

// launch starts the Dex binary.
func (s *Server) launch(t testing.TB) *process {
	t.Helper()
	log, err := os.OpenFile(s.LogPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatalf("open dex log: %v", err)
	}
	defer func() { _ = log.Close() }()                // the child holds its own copy
	cmd := exec.Command(s.bin, "serve", s.configPath) //nolint:noctx // stop ends it with SIGTERM; a context would SIGKILL it
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start dex: %v", err)
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	s.mu.Lock()
	s.proc = p
	s.mu.Unlock()
	return p
}

// errExitedEarly is Dex exiting before it served its discovery document.
var errExitedEarly = errors.New("dex exited before serving")

// waitReady polls the discovery document until it answers 200, Dex exits or
// ctx ends.
func (s *Server) waitReady(ctx context.Context, p *process) error {
	url := s.IssuerURL + "/.well-known/openid-configuration"
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !discoveryAnswers(ctx, s.Client(), url) {
		select {
		case <-p.exited:
			return fmt.Errorf("%w %s: %w", errExitedEarly, url, p.err)
		case <-ctx.Done():
			return fmt.Errorf("dex did not serve %s within %v: %w", url, startTimeout, ctx.Err())
		case <-tick.C:
		}
	}
	return nil
}

func discoveryAnswers(ctx context.Context, client *http.Client, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// stop ends the running Dex, if any: SIGTERM, then SIGKILL after stopTimeout.
func (s *Server) stop() {
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// tail returns the last lines of a log for a failure message.
func tail(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-20):], "\n")
}
