package soak

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// proxyBinary is the aksoidc-proxy that TestMain builds for the whole package.
var proxyBinary string

func TestMain(m *testing.M) {
	ctrllog.SetLogger(logr.Discard()) // envtest's client logs through it, and warns when unset
	dir, err := os.MkdirTemp("", "aksoidc-soak-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	proxyBinary = filepath.Join(dir, "aksoidc-proxy")
	build := exec.CommandContext(context.Background(), "go", "build", "-o", proxyBinary, "github.com/aksoidc/aksoidc/cmd/proxy")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	code := 1
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "build the proxy: %v\n", err)
	} else {
		code = m.Run()
	}
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// long says whether SOAK=1 asks for the long versions of the scenarios.
func long() bool { return os.Getenv("SOAK") == "1" }

// knob is an integer setting from the environment, short unless SOAK=1 asks for long.
func knob(t testing.TB, name string, short, soak int) int {
	t.Helper()
	if v := os.Getenv(name); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			t.Fatalf("%s=%q: want a positive integer", name, v)
		}
		return n
	}
	if long() {
		return soak
	}
	return short
}

// duration is a duration setting from the environment, short unless SOAK=1 asks for long.
func duration(t testing.TB, name string, short, soak time.Duration) time.Duration {
	t.Helper()
	if v := os.Getenv(name); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			t.Fatalf("%s=%q: want a positive duration", name, v)
		}
		return d
	}
	if long() {
		return soak
	}
	return short
}

// report prints a scenario's figures, one "soak: name: key=value ..." line on stdout, which
// `go test -v` (make soak) shows.
func report(t testing.TB, scenario string, kv ...any) {
	t.Helper()
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(&b, " %v=%v", kv[i], kv[i+1])
	}
	fmt.Println("soak: " + scenario + ":" + b.String())
}
