package tooldir

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const fakeVersions = `# comment
DEX_VERSION=v0.0.0-1

K8S_VERSION=v1.2.3
ETCD_VERSION=v3.4.5
GOLANGCI_LINT_VERSION=v2.0.0
`

// fakeTB records Skipf and Fatalf and ends the calling goroutine like the
// real testing.T does.
type fakeTB struct {
	testing.TB
	skipped, failed string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Skipf(format string, args ...any) {
	f.skipped = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// call runs fn against a fakeTB in its own goroutine, as Goexit needs.
func call(fn func(testing.TB) string) (got string, tb *fakeTB) {
	tb = &fakeTB{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		got = fn(tb)
	}()
	<-done
	return got, tb
}

// fakeRepo builds a repository with a nested tool module, changes into a dir
// below that nested module and points the tool cache at an empty temp dir.
func fakeRepo(t *testing.T) (root, cache string) {
	t.Helper()
	root = t.TempDir()
	write(t, filepath.Join(root, "go.mod"), "module \"github.com/aksoidc/aksoidc\"\n\ngo 1.26\n")
	write(t, filepath.Join(root, versionsFile), fakeVersions)
	nested := filepath.Join(root, "hack", "tools", "dex")
	write(t, filepath.Join(nested, "go.mod"), "module github.com/aksoidc/aksoidc/hack/tools/dex\n")
	wd := filepath.Join(nested, "sub")
	if err := os.MkdirAll(wd, 0o750); err != nil {
		t.Fatal(err)
	}
	t.Chdir(wd)
	cache = t.TempDir()
	t.Setenv(cacheEnv, cache)
	return root, cache
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func executable(t *testing.T, path string) {
	t.Helper()
	write(t, path, "#!/bin/sh\n")
	if err := os.Chmod(path, 0o700); err != nil { //nolint:gosec // a test binary must be executable
		t.Fatal(err)
	}
}

func TestPathFindsBuiltBinaries(t *testing.T) {
	_, cache := fakeRepo(t)
	t.Setenv("CI", "true")
	k8s := filepath.Join(cache, "k8s-v1.2.3-etcd-v3.4.5")
	for _, p := range []string{
		filepath.Join(cache, "dex-v0.0.0-1", "dex"),
		filepath.Join(k8s, "kube-apiserver"), filepath.Join(k8s, "etcd"), filepath.Join(k8s, "kubectl"),
		filepath.Join(cache, "golangci-lint-v2.0.0", "golangci-lint"),
	} {
		executable(t, p)
	}
	tests := []struct {
		name string
		fn   func(testing.TB) string
		want string
	}{
		{"dex", Dex, filepath.Join(cache, "dex-v0.0.0-1", "dex")},
		{"control plane", ControlPlaneDir, k8s},
		{"golangci-lint", GolangciLint, filepath.Join(cache, "golangci-lint-v2.0.0", "golangci-lint")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, tb := call(tt.fn)
			if tb.skipped != "" || tb.failed != "" {
				t.Fatalf("skipped %q, failed %q", tb.skipped, tb.failed)
			}
			if got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestPathMissingBinary(t *testing.T) {
	tests := []struct {
		name        string
		ci          string
		etcd        func(t *testing.T, path string)
		wantSkipped bool
	}{
		{"absent locally skips", "", nil, true},
		{"absent in CI fails", "true", nil, false},
		{"not executable locally skips", "", func(t *testing.T, p string) { write(t, p, "") }, true},
		{"not executable in CI fails", "true", func(t *testing.T, p string) { write(t, p, "") }, false},
		{"any non-empty CI is CI", "1", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, cache := fakeRepo(t)
			t.Setenv("CI", tt.ci)
			dir := filepath.Join(cache, "k8s-v1.2.3-etcd-v3.4.5")
			executable(t, filepath.Join(dir, "kube-apiserver"))
			if tt.etcd != nil {
				tt.etcd(t, filepath.Join(dir, "etcd"))
			}
			_, tb := call(ControlPlaneDir)
			msg := tb.failed
			if tt.wantSkipped {
				msg = tb.skipped
			}
			want := "k8s etcd: " + filepath.Join(dir, "etcd") + " is not built; run `make tools` to build it"
			if msg != want {
				t.Errorf("skipped %q, failed %q; want %s %q", tb.skipped, tb.failed, map[bool]string{true: "skip", false: "failure"}[tt.wantSkipped], want)
			}
		})
	}
}

func TestPathBrokenVersionsFails(t *testing.T) {
	root, _ := fakeRepo(t)
	t.Setenv("CI", "")
	write(t, filepath.Join(root, versionsFile), "DEX_VERSION=v1\n")
	_, tb := call(ControlPlaneDir)
	if tb.skipped != "" || !strings.Contains(tb.failed, `tool family "k8s": hack/tools/versions.env has no K8S_VERSION`) {
		t.Errorf("skipped %q, failed %q; want a failure naming K8S_VERSION", tb.skipped, tb.failed)
	}
}

func TestRepoRootSkipsNestedModules(t *testing.T) {
	root, _ := fakeRepo(t)
	got, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	want, err := filepath.EvalSymlinks(root)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestRepoRootOutsideRepository(t *testing.T) {
	t.Chdir(t.TempDir())
	if _, err := RepoRoot(); err == nil || !strings.Contains(err.Error(), "no go.mod with module github.com/aksoidc/aksoidc") {
		t.Errorf("got error %v, want one naming the missing module", err)
	}
}

func TestReadVersions(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    map[string]string
		wantErr string
	}{
		{"comments and blanks", fakeVersions, map[string]string{
			"DEX_VERSION": "v0.0.0-1", "K8S_VERSION": "v1.2.3", "ETCD_VERSION": "v3.4.5", "GOLANGCI_LINT_VERSION": "v2.0.0",
		}, ""},
		{"export prefix", "# x\nexport DEX_VERSION=v1\n", nil, `versions.env:2: want KEY=VALUE, got "export DEX_VERSION=v1"`},
		{"spaces around =", "DEX_VERSION = v1\n", nil, `versions.env:1: want KEY=VALUE, got "DEX_VERSION = v1"`},
		{"empty value", "DEX_VERSION=\n", nil, `versions.env:1: want KEY=VALUE, got "DEX_VERSION="`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "versions.env")
			write(t, path, tt.content)
			got, err := ReadVersions(path)
			if tt.wantErr != "" {
				if err == nil || !strings.HasSuffix(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want it to end in %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("versions (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDirName(t *testing.T) {
	versions := map[string]string{"DEX_VERSION": "v0.0.0-1", "K8S_VERSION": "v1.2.3", "ETCD_VERSION": "v3.4.5", "HELM_VERSION": "v3.22.0"}
	tests := []struct {
		family, want, wantErr string
	}{
		{"dex", "dex-v0.0.0-1", ""},
		{"k8s", "k8s-v1.2.3-etcd-v3.4.5", ""},
		{"helm", "helm-v3.22.0", ""},
		{"golangci-lint", "", `tool family "golangci-lint": hack/tools/versions.env has no GOLANGCI_LINT_VERSION`},
	}
	for _, tt := range tests {
		t.Run(tt.family, func(t *testing.T) {
			got, err := DirName(versions, tt.family)
			if gotErr := fmt.Sprint(err); tt.wantErr != "" && gotErr != tt.wantErr {
				t.Fatalf("got error %s, want %s", gotErr, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestRealCache checks that build.sh and this package agree on the cache
// layout: what `make tools` built is found here (and in CI must be).
func TestRealCache(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	v, err := ReadVersions(filepath.Join(root, versionsFile))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path func(testing.TB) string
		args []string
		want string
	}{
		{"dex", Dex, []string{"version"}, "Dex Version: " + v["DEX_VERSION"] + "\n"},
		{"kube-apiserver", inControlPlane("kube-apiserver"), []string{"--version"}, "Kubernetes " + v["K8S_VERSION"] + "\n"},
		{"kubectl", inControlPlane("kubectl"), []string{"version", "--client"}, "Client Version: " + v["K8S_VERSION"] + "\n"},
		{"etcd", inControlPlane("etcd"), []string{"--version"}, "etcd Version: " + strings.TrimPrefix(v["ETCD_VERSION"], "v") + "\n"},
		{"golangci-lint", GolangciLint, []string{"version"}, "golangci-lint has version " + strings.TrimPrefix(v["GOLANGCI_LINT_VERSION"], "v") + " "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := exec.CommandContext(t.Context(), tt.path(t), tt.args...).CombinedOutput()
			if err != nil {
				t.Fatalf("%s %s: %v\n%s", tt.name, strings.Join(tt.args, " "), err, out)
			}
			if !strings.HasPrefix(string(out), tt.want) {
				t.Errorf("%s printed %q, want it to start with %q", tt.name, out, tt.want)
			}
		})
	}
}

func inControlPlane(binary string) func(testing.TB) string {
	return func(t testing.TB) string {
		t.Helper()
		return filepath.Join(ControlPlaneDir(t), binary)
	}
}
