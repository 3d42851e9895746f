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

// pluginDir holds kubectl-aksoidc, built once by TestMain; on PATH, kubectl finds it as
// `kubectl aksoidc`, as after the guide's install.
var pluginDir string

func TestMain(m *testing.M) {
	if os.Getenv(browserEnv) == "1" {
		os.Exit(browse(os.Args[len(os.Args)-1]))
	}
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "aksoidc-guide-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "create build dir: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir) //nolint:errcheck // best effort, in the temp dir
	pluginDir = dir
	root, err := tooldir.RepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(dir, "kubectl-aksoidc"), "./cmd/kubectl-aksoidc")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build kubectl-aksoidc: %v\n%s", err, out)
		return 1
	}
	return m.Run()
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
