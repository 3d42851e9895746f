// Package demo runs the README's first command, the local end-to-end demo,
// as a user would, without a terminal, and checks what it prints.
package demo

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/aksoidc/aksoidc/test/tooldir"
)

func TestDemo(t *testing.T) {
	t.Parallel()
	tooldir.Dex(t)
	tooldir.ControlPlaneDir(t)
	if _, err := exec.LookPath("chromium"); err != nil && os.Getenv("DISPLAY") == "" {
		tooldir.Missing(t, "chromium is missing: the demo's headless browser")
	}
	root, err := tooldir.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(root, "hack/demo/demo.sh"))
	cmd.Env = append(os.Environ(), "DEMO_EXIT=1", "DEMO_DIR="+t.TempDir(), "DISPLAY=", "WAYLAND_DISPLAY=")
	for _, name := range []string{"ETCD", "API", "DEX", "PROXY", "PROBE"} {
		cmd.Env = append(cmd.Env, fmt.Sprintf("DEMO_%s_PORT=%d", name, freePort(t)))
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the demo failed: %v\n%s", err, out)
	}
	for _, want := range []string{
		`==> kubectl auth whoami \(through the proxy\)\nATTRIBUTE +VALUE\nUsername +oidc:kilgore@kilgore.trout\n` +
			`Groups +\[oidc:authors system:authenticated\]\nExtra: aksoidc.io/client-ip +\[127.0.0.1\]\n`,
		`\n==> kubectl get pods -n demo \(allowed by the RoleBinding\)\nNo resources found in demo namespace.\n`,
		`Error from server \(Forbidden\): pods is forbidden: User "oidc:kilgore@kilgore.trout" cannot list resource "pods" ` +
			`in API group "" in the namespace "kube-system"\n`,
		// The onboarding page, and the kubeconfig it offers proven with kubectl.
		`\n==> The onboarding page: open https://127\.0\.0\.1:[0-9]+ in a browser \(its CA is demo/pki/ca\.crt\)\n` +
			`<h1 id="display-name">aksoidc demo</h1>\n`,
		`\n==> kubectl auth whoami with the kubeconfig the page offers \(demo/downloaded\.kubeconfig\)\n` +
			`ATTRIBUTE +VALUE\nUsername +oidc:kilgore@kilgore.trout\n`,
		`\n==> Done\.`,
	} {
		if !regexp.MustCompile(want).Match(out) {
			t.Errorf("the demo's output does not match %q:\n%s", want, out)
		}
	}
}

// freePort returns a loopback port free now; etcd's peer port is the client
// port + 10, so both are checked.
func freePort(t *testing.T) int {
	t.Helper()
	for range 50 {
		var lc net.ListenConfig
		l, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		peer, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:"+strconv.Itoa(port+10))
		if err == nil {
			_ = peer.Close()
			return port
		}
	}
	t.Fatal("no free port pair")
	return 0
}
