package guide

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/aksoidc/aksoidc/test/tooldir"
)

// browserEnv makes the test binary act as the developer's browser: the plugin runs $BROWSER
// with the login URL, and this binary, seeing browserEnv=1, follows the redirects from Dex's
// login through the mock connector to the plugin's loopback callback, trusting the system's
// CAs ($SSL_CERT_FILE), and exits.
const browserEnv = "AKSOIDC_GUIDE_TEST_BROWSER"

func TestMain(m *testing.M) {
	if os.Getenv(browserEnv) == "1" {
		os.Exit(browse(os.Args[len(os.Args)-1]))
	}
	os.Exit(m.Run())
}

// binaries are the built proxy and plugin; pluginDir, on PATH, lets kubectl find the plugin as
// `kubectl aksoidc`, as after the guide's install.
type binaries struct {
	proxy, pluginDir string
}

// build is cmd/proxy and cmd/kubectl-aksoidc being built in one go build, in the background,
// while the control plane starts.
type build struct {
	dir  string
	done chan struct{}
	err  error
	out  []byte
}

func startBuild(t *testing.T) *build {
	t.Helper()
	root, err := tooldir.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	b := &build{dir: t.TempDir(), done: make(chan struct{})}
	go func() {
		defer close(b.done)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "build", "-o", b.dir+string(os.PathSeparator), "./cmd/proxy", "./cmd/kubectl-aksoidc")
		cmd.Dir = root
		b.out, b.err = cmd.CombinedOutput()
	}()
	t.Cleanup(func() { <-b.done }) // runs before the dir is removed
	return b
}

// wait returns the binaries once built, or fails the test.
func (b *build) wait(t *testing.T) binaries {
	t.Helper()
	<-b.done
	if b.err != nil {
		t.Fatalf("go build ./cmd/proxy ./cmd/kubectl-aksoidc: %v\n%s", b.err, b.out)
	}
	return binaries{proxy: filepath.Join(b.dir, "proxy"), pluginDir: b.dir}
}

// browse GETs url with cookies, following redirects, and reports failure in its exit code.
func browse(url string) int {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil) //nolint:gosec // G704: the login URL the plugin opens, on loopback
	if err != nil {
		return 1
	}
	resp, err := (&http.Client{Jar: jar}).Do(req) //nolint:gosec // G704: as above
	if err != nil {
		fmt.Fprintln(os.Stderr, "browser:", err)
		return 1
	}
	defer resp.Body.Close() //nolint:errcheck // read to the end below
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintln(os.Stderr, "browser: the login ended with", resp.Status)
		return 1
	}
	return 0
}
