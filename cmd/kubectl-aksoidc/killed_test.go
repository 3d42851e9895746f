package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aksoidc/aksoidc/pkg/login"
	"github.com/aksoidc/aksoidc/pkg/tokencache"
	"github.com/aksoidc/aksoidc/test/oidctest"
	"github.com/aksoidc/aksoidc/test/poll"
)

// TestKilledGetTokenLeavesAUsableCache: a get-token process SIGKILLed while it finishes a
// refresh (reading the answer, verifying, writing the cache) never leaves an entry the next
// call cannot read, nor a lock it cannot take: the next call hands kubectl a token.
func TestKilledGetTokenLeavesAUsableCache(t *testing.T) {
	t.Parallel()
	p := oidctest.NewProvider(t, "kubectl")
	dir := t.TempDir()
	if r := deviceLogin(t, p, dir, nil); r.code != 0 {
		t.Fatalf("login: %+v", r.stderr)
	}
	args := []string{"get-token", "--issuer-url", p.URL, "--client-id", p.ClientID, "--certificate-authority", p.CAFile,
		"--grant-type", "device-code", "--token-cache-storage", "file", "--token-cache-dir", dir}
	raw, err := json.Marshal(append(args, "--force-refresh"))
	if err != nil {
		t.Fatal(err)
	}
	id := login.Settings{IssuerURL: p.URL, ClientID: p.ClientID, GrantType: login.DeviceCode}.CacheKey().ID()
	for round := range 16 {
		before := p.Refreshes()
		cmd := exec.CommandContext(t.Context(), os.Args[0]) //nolint:gosec // the test binary itself
		cmd.Env = append(os.Environ(), runCLIEnv+"="+string(raw))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		// The fault lands after the provider has rotated the refresh token, the moment a lost
		// write would hurt most: round N kills N ms after the provider answered (reading the
		// answer, verifying the ID token, writing the cache). The delay places the fault; the
		// wait before it is on the event.
		poll.Until(t, time.Minute, func() bool {
			select {
			case <-exited:
				return true
			default:
				return p.Refreshes() > before
			}
		})
		time.Sleep(time.Duration(round) * time.Millisecond)
		_ = cmd.Process.Kill()
		<-exited
		if _, err := (tokencache.FileStore{Dir: dir}).Load(id); err != nil && !errors.Is(err, tokencache.ErrNotFound) {
			t.Fatalf("round %d: the killed process left an entry that does not load: %v", round, err)
		}
		// The next refresh uses what the killed one left: its rotated refresh token (then it logs
		// in again) or the new one.
		r := runCLI(t, nil, append(args, "--force-refresh")...)
		if r.code != 0 || !strings.Contains(r.stdout, `"token":"ey`) {
			t.Fatalf("round %d: the call after the kill: exit %d, stderr %q", round, r.code, r.stderr)
		}
	}
	t.Logf("16 refreshes killed after the provider answered: %d refreshes and %d logins in all", p.Refreshes(), p.Logins())
}
