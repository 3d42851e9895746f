package plugin_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aksoidc/aksoidc/test/poll"
	"github.com/aksoidc/aksoidc/test/tooldir"
)

// browser is a --browser-command that runs a real headless Chromium. The
// plugin starts it and does not wait for it, so the wrapper leaves a marker
// when Chromium exits and the test waits for every marker before its temp
// dir goes away.
type browser struct {
	// command is the value for --browser-command.
	command string
	dir     string
}

const browserScript = `#!/bin/sh
# kubectl-aksoidc passes the login URL as the last argument.
run=$(mktemp -d %[1]q/run.XXXXXX) || exit 1
# The session bus is the test keyring's; Chromium has no business there.
unset DBUS_SESSION_BUS_ADDRESS
%[2]q --headless --no-sandbox --disable-gpu --disable-background-networking \
	--disable-component-update --disable-sync --no-first-run %[3]s \
	--user-data-dir="$run/profile" --dump-dom "$@" >"$run/output" 2>&1
echo $? >"$run/exit"
`

// newBrowser writes the --browser-command; flags are Chromium flags of the
// test's, written into the script as they are.
func newBrowser(t *testing.T, flags ...string) *browser {
	t.Helper()
	chromium := chromiumPath(t)
	dir := t.TempDir()
	b := &browser{command: filepath.Join(dir, "browser.sh"), dir: dir}
	script := fmt.Appendf(nil, browserScript, dir, chromium, strings.Join(flags, " "))
	if err := os.WriteFile(b.command, script, 0o700); err != nil { //nolint:gosec // an executable script
		t.Fatalf("write browser script: %v", err)
	}
	// Registered after t.TempDir, so it runs before the dir is removed.
	t.Cleanup(func() { b.waitAll(t) })
	return b
}

// launches counts how often the plugin opened the browser.
func (b *browser) launches(t *testing.T) int {
	t.Helper()
	runs, err := filepath.Glob(filepath.Join(b.dir, "run.*"))
	if err != nil {
		t.Fatalf("list browser runs: %v", err)
	}
	return len(runs)
}

// waitAll waits until every Chromium the plugin started has exited: each leaves its exit
// marker last.
func (b *browser) waitAll(t *testing.T) {
	t.Helper()
	poll.Until(t, 30*time.Second, func() bool {
		runs, _ := filepath.Glob(filepath.Join(b.dir, "run.*"))
		done, _ := filepath.Glob(filepath.Join(b.dir, "run.*", "exit"))
		return len(done) == len(runs)
	})
}

// chromiumPath finds Debian's chromium (a system package, not a pinned tool).
// Where it is missing the test is skipped, or fails when CI=true.
func chromiumPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("chromium")
	if err == nil {
		return p
	}
	tooldir.Missing(t, "chromium is not installed (apt-get install chromium): %v", err)
	return ""
}
