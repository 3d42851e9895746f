package release

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aksoidc/aksoidc/test/tooldir"
)

var servingOn = regexp.MustCompile(`serving on port (\d+)$`)

// startRegistry runs go-containerregistry's in-memory OCI registry (`crane
// registry serve`) on 127.0.0.1 until the test ends and returns its host:port.
func startRegistry(t *testing.T) string {
	t.Helper()
	crane := tooldir.Path(t, "registry", "crane")
	cmd := exec.CommandContext(t.Context(), crane, "registry", "serve", "--address", "127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", crane, err)
	}
	// The registry logs one line once it listens; everything after it is
	// its request log, kept for a failing test.
	port := make(chan string, 1)
	var log bytes.Buffer
	logDone := make(chan struct{})
	go func() {
		defer close(logDone)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := servingOn.FindStringSubmatch(sc.Text()); m != nil {
				port <- m[1]
				break
			}
		}
		close(port)
		_, _ = io.Copy(&log, stderr)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-logDone // stderr's EOF, once the registry is gone
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("registry log:\n%s", log.String())
		}
	})
	p, ok := <-port
	if !ok {
		t.Fatalf("%s registry serve exited without saying where it listens", crane)
	}
	return "127.0.0.1:" + p
}

// helmCLI runs the pinned helm with its own config, cache and registry
// credential files, and a kubeconfig.
type helmCLI struct {
	bin, home, kubeconfig string
}

func newHelm(t *testing.T, kubeconfig string) *helmCLI {
	t.Helper()
	return &helmCLI{bin: tooldir.Path(t, "helm", "helm"), home: t.TempDir(), kubeconfig: kubeconfig}
}

// run returns helm's stdout, or an error with its stderr.
func (h *helmCLI) run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), h.bin, args...)
	cmd.Env = append(os.Environ(), "HELM_CONFIG_HOME="+h.home, "HELM_CACHE_HOME="+h.home,
		"HELM_DATA_HOME="+h.home, "HELM_REGISTRY_CONFIG="+filepath.Join(h.home, "registry.json"),
		"KUBECONFIG="+h.kubeconfig)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("helm %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// mustRun is run for a command that must succeed.
func (h *helmCLI) mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, err := h.run(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// isExit tells a helm that ran and refused from one that did not run.
func isExit(err error) bool {
	var exit *exec.ExitError
	return errors.As(err, &exit)
}
