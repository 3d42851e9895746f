package setup_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aksoidc/aksoidc/pkg/setup"
	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/tools/clientcmd"
)

const otherFile = "apiVersion: v1\nkind: Config\nusers:\n- name: admin\n  user: {token: keep-me}\n"

// TestWriteFollowsTheKUBECONFIGList: with a list of files, an entry is
// changed where kubectl reads it from, new entries go where kubectl puts
// them, and files setup has nothing to change in are not touched at all.
func TestWriteFollowsTheKUBECONFIGList(t *testing.T) {
	t.Parallel()
	devUser := "apiVersion: v1\nkind: Config\nusers:\n- name: dev\n  user: {token: stale}\n"
	withContext := "apiVersion: v1\nkind: Config\ncurrent-context: admin\n"
	cases := []struct {
		name      string
		files     []string // contents; "" is a file that does not exist
		wantFiles []int    // indexes of the files written
		userIn    int
		clusterIn int
		current   string
	}{
		{"one new file", []string{""}, []int{0}, 0, 0, "dev"},
		{"new entries go to the first file that exists", []string{"", otherFile, otherFile}, []int{1}, 1, 1, "dev"},
		{"no file exists: the last one, as kubectl", []string{"", ""}, []int{1}, 1, 1, "dev"},
		{"an existing user is replaced where it is", []string{otherFile, devUser}, []int{0, 1}, 1, 0, "dev"},
		{"the current context of another file stays", []string{otherFile, withContext}, []int{0}, 0, 0, "admin"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			var paths, wantWritten []string
			for i, content := range tc.files {
				p := filepath.Join(dir, "config"+string(rune('a'+i)))
				paths = append(paths, p)
				if content != "" {
					if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
						t.Fatal(err)
					}
				}
			}
			for _, i := range tc.wantFiles {
				wantWritten = append(wantWritten, paths[i])
			}
			// Empty and repeated entries of the list are ignored, as kubectl does.
			env := strings.Join(append(append([]string{""}, paths...), paths[0]), string(os.PathListSeparator))
			files, err := setup.Write(setup.Kubeconfig{EnvPaths: env, Name: "dev", Server: "https://127.0.0.1:1",
				Command: "kubectl-aksoidc", Args: []string{"get-token"}})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(wantWritten, files); diff != "" {
				t.Errorf("files written (-want +got):\n%s", diff)
			}
			for i, content := range tc.files {
				if b, _ := os.ReadFile(paths[i]); !contains(tc.wantFiles, i) && string(b) != content {
					t.Errorf("file %d changed although nothing of it was setup's:\n%s", i, b)
				}
			}
			checkOrigins(t, paths, paths[tc.userIn], paths[tc.clusterIn], tc.current)
		})
	}
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// checkOrigins loads the list as kubectl does and checks where the entries
// come from, that the stale token is gone, and the current context.
func checkOrigins(t *testing.T, paths []string, userIn, clusterIn, current string) {
	t.Helper()
	cfg, err := (&clientcmd.ClientConfigLoadingRules{Precedence: paths}).Load()
	if err != nil {
		t.Fatal(err)
	}
	u, c := cfg.AuthInfos["dev"], cfg.Clusters["dev"]
	if u == nil || c == nil || cfg.Contexts["dev"] == nil {
		t.Fatalf("entries missing: %+v", cfg)
	}
	if u.LocationOfOrigin != userIn || c.LocationOfOrigin != clusterIn || u.Token != "" || u.Exec == nil {
		t.Errorf("user from %s (token %q), cluster from %s; want %s, no token, %s", u.LocationOfOrigin, u.Token,
			c.LocationOfOrigin, userIn, clusterIn)
	}
	if cfg.CurrentContext != current {
		t.Errorf("current context %q, want %q", cfg.CurrentContext, current)
	}
}

func TestWriteNewFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), ".kube", "config")
	if _, err := setup.Write(setup.Kubeconfig{Path: path, Name: "dev", Command: "kubectl-aksoidc", Args: []string{"get-token"}}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600: a kubeconfig may hold credentials", fi.Mode().Perm())
	}
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Without --server, setup writes the user only and chooses no context.
	if len(cfg.Clusters) != 0 || len(cfg.Contexts) != 0 || cfg.CurrentContext != "" || cfg.AuthInfos["dev"] == nil {
		t.Errorf("kubeconfig = %+v, want the user dev only", cfg)
	}
	if _, err := os.Stat(path + ".lock"); err == nil {
		t.Errorf("the lock file was left behind")
	}
}

// A kubeconfig reached through a symlink (dotfiles) is written through it.
func TestWriteThroughASymlink(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	target, link := filepath.Join(dir, "dotfiles-kubeconfig"), filepath.Join(dir, "config")
	if err := os.WriteFile(target, []byte(otherFile), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if _, err := setup.Write(setup.Kubeconfig{Path: link, Name: "dev", Command: "c"}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the symlink was replaced: %v, %v", fi, err)
	}
	cfg, err := clientcmd.LoadFromFile(target)
	if err != nil || cfg.AuthInfos["dev"] == nil || cfg.AuthInfos["admin"].Token != "keep-me" {
		t.Errorf("target = %+v, %v", cfg, err)
	}
}

// TestWriteRefuses: what cannot be written faithfully, or where, is an error
// naming the value or the file, and the file is left as it was.
func TestWriteRefuses(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		content string
		lock    bool
		k       setup.Kubeconfig
		want    string // %s is the file
	}{
		{name: "invalid UTF-8", content: otherFile, k: setup.Kubeconfig{Name: "dev", Command: "c", Args: []string{"get-token", "--x=\xff"}},
			want: `exec arg 2 "--x=\xff": not valid UTF-8, which a kubeconfig cannot hold`},
		{name: "NUL", content: otherFile, k: setup.Kubeconfig{Name: "d\x00", Command: "c\x00"},
			want: `--name "d\x00": holds a NUL byte, which exec cannot pass; exec command "c\x00": holds a NUL byte, which exec cannot pass`},
		{name: "no name", content: otherFile, k: setup.Kubeconfig{Command: "c"}, want: "kubeconfig: the name of the entries is empty"},
		{name: "locked", content: otherFile, lock: true, k: setup.Kubeconfig{Name: "dev", Command: "c"},
			want: "kubeconfig %[1]s is locked: %[1]s.lock exists (a kubectl config command may be writing it; if none is, remove the lock file)"},
		{name: "not a mapping", content: "- a\n- b\n", k: setup.Kubeconfig{Name: "dev", Command: "c"},
			want: "kubeconfig %s: not a YAML mapping"},
		{name: "users not a list", content: "users: {dev: {}}\n", k: setup.Kubeconfig{Name: "dev", Command: "c"},
			want: "kubeconfig %s: users is not a list"},
		{name: "two documents", content: otherFile + "---\n" + otherFile, k: setup.Kubeconfig{Name: "dev", Command: "c"},
			want: "kubeconfig %s: holds more than one YAML document, which kubectl does not read"},
		{name: "not YAML", content: "users: [\n", k: setup.Kubeconfig{Name: "dev", Command: "c"},
			want: "kubeconfig %s: not YAML: yaml: line 1: did not find expected node content"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "config")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if tc.lock {
				if err := os.WriteFile(path+".lock", nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			tc.k.Path = path
			_, err := setup.Write(tc.k)
			want := strings.ReplaceAll(tc.want, "%s", path)
			want = strings.ReplaceAll(want, "%[1]s", path)
			if err == nil || err.Error() != want {
				t.Errorf("error = %v\nwant    %s", err, want)
			}
			if b, _ := os.ReadFile(path); string(b) != tc.content {
				t.Errorf("the file changed:\n%s", b)
			}
			if _, err := os.Stat(path + ".lock"); (err == nil) != tc.lock {
				t.Errorf("lock file present: %v, want %v", err == nil, tc.lock)
			}
		})
	}
}
