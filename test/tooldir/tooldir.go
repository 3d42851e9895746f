// Package tooldir finds the pinned tool binaries (Dex, kube-apiserver, etcd,
// kubectl, golangci-lint) that `make tools` builds into
// $HOME/.cache/aksoidc/<family>-<version>/, with the versions taken from
// hack/tools/versions.env, so tests run against the real parts.
//
// A missing binary skips the test locally but fails it when CI=true, so CI can
// never pass by skipping.
package tooldir

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const (
	// modulePath identifies the repository root while walking up.
	modulePath = "github.com/aksoidc/aksoidc"
	// versionsFile is the one place of tool versions, relative to the root.
	versionsFile = "hack/tools/versions.env"
	// cacheEnv overrides $HOME/.cache/aksoidc; hack/tools/build.sh honours it too.
	cacheEnv = "AKSOIDC_TOOL_CACHE"
)

// errNotBuilt marks a binary that is absent from the cache: the one error a
// local run may skip on.
var errNotBuilt = errors.New("not built")

// InCI reports whether the tests run in CI, where every real part must be present: any
// non-empty CI variable, as CI systems set it.
func InCI() bool { return os.Getenv("CI") != "" }

// Missing ends a test that lacks a real part it needs (a tool, Chromium, a D-Bus session):
// skipped on a developer's machine, failed in CI, where a skip would hide a missing install.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if InCI() {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// Path returns the path of binary in the cache dir of family. When the binary
// is absent the test is skipped, or fails in CI (see Missing).
func Path(t testing.TB, family, binary string) string {
	t.Helper()
	p, err := find(family, binary)
	switch {
	case errors.Is(err, errNotBuilt):
		Missing(t, "%v; run `make tools` to build it", err)
	case err != nil:
		t.Fatalf("%v; run `make tools` to build it", err)
	}
	return p
}

// Dex returns the path of the pinned dex binary.
func Dex(t testing.TB) string {
	t.Helper()
	return Path(t, "dex", "dex")
}

// ControlPlaneDir returns the dir holding kube-apiserver, etcd and kubectl,
// the layout envtest's BinaryAssetsDirectory expects.
func ControlPlaneDir(t testing.TB) string {
	t.Helper()
	var dir string
	for _, b := range []string{"kube-apiserver", "etcd", "kubectl"} {
		dir = filepath.Dir(Path(t, "k8s", b))
	}
	return dir
}

// GolangciLint returns the path of the pinned golangci-lint binary.
func GolangciLint(t testing.TB) string {
	t.Helper()
	return Path(t, "golangci-lint", "golangci-lint")
}

// find returns the cached binary's path, or an error wrapping errNotBuilt when
// it is absent.
func find(family, binary string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	versions, err := ReadVersions(filepath.Join(root, versionsFile))
	if err != nil {
		return "", err
	}
	name, err := DirName(versions, family)
	if err != nil {
		return "", err
	}
	cache, err := CacheRoot()
	if err != nil {
		return "", err
	}
	p := filepath.Join(cache, name, binary)
	fi, err := os.Stat(p)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return "", fmt.Errorf("%s %s: %s is %w", family, binary, p, errNotBuilt)
	}
	return p, nil
}

// CacheRoot returns $AKSOIDC_TOOL_CACHE, or $HOME/.cache/aksoidc.
func CacheRoot() (string, error) {
	if dir := os.Getenv(cacheEnv); dir != "" {
		return dir, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find tool cache: %w", err)
	}
	return filepath.Join(home, ".cache", "aksoidc"), nil
}

// DirName returns the cache dir name of family: <family>-<version>, with the
// version from <FAMILY>_VERSION; k8s also names its etcd version.
func DirName(versions map[string]string, family string) (string, error) {
	get := func(key string) (string, error) {
		v, ok := versions[key]
		if !ok {
			return "", fmt.Errorf("tool family %q: %s has no %s", family, versionsFile, key)
		}
		return v, nil
	}
	key := strings.ToUpper(strings.ReplaceAll(family, "-", "_")) + "_VERSION"
	v, err := get(key)
	if err != nil {
		return "", err
	}
	if family != "k8s" {
		return family + "-" + v, nil
	}
	etcd, err := get("ETCD_VERSION")
	if err != nil {
		return "", err
	}
	return "k8s-" + v + "-etcd-" + etcd, nil
}

var assignment = regexp.MustCompile(`^([A-Z][A-Z0-9_]*)=(\S+)$`)

// ReadVersions parses a versions.env file: KEY=VALUE lines, comments and
// blank lines. Anything else is an error, since bash would read it
// differently.
func ReadVersions(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read tool versions: %w", err)
	}
	defer func() { _ = f.Close() }()
	versions := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m := assignment.FindStringSubmatch(line)
		if m == nil {
			return nil, fmt.Errorf("%s:%d: want KEY=VALUE, got %q", path, n, line)
		}
		versions[m[1]] = m[2]
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return versions, nil
}

// RepoRoot walks up from the working directory to the dir whose go.mod
// declares module github.com/aksoidc/aksoidc.
func RepoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find repository root: %w", err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if isRoot(filepath.Join(dir, "go.mod")) {
			return dir, nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("no go.mod with module %s in %s or above", modulePath, wd)
		}
	}
}

// isRoot reports whether gomod declares the project's module.
func isRoot(gomod string) bool {
	data, err := os.ReadFile(gomod)
	if err != nil {
		return false
	}
	for line := range strings.Lines(string(data)) {
		fields := strings.Fields(line)
		if len(fields) >= 2 && fields[0] == "module" {
			return strings.Trim(fields[1], `"`) == modulePath
		}
	}
	return false
}
