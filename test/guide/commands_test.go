package guide

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// rewrite is one replacement the test makes in a block: a guide's value that cannot be the
// same off Azure (a host name, a port, the mock connector's identity) and the test's.
type rewrite struct{ from, to string }

// rewriter applies its rewrites in order (longer, more specific ones first).
type rewriter []rewrite

func (r rewriter) apply(s string) string {
	for _, rw := range r {
		s = strings.ReplaceAll(s, rw.from, rw.to)
	}
	return s
}

func (r rewriter) log(t testing.TB, what string) {
	t.Helper()
	var b strings.Builder
	for _, rw := range r {
		b.WriteString("\n  " + rw.from + " -> " + rw.to)
	}
	t.Logf("%s: the test rewrites%s", what, b.String())
}

// session runs a block's command lines with bash, as the cluster admin or as the developer.
type session struct {
	admin, developer []string // environments
	vars             []string // NAME=value lines seen so far in the block
	// outputs are the guide's sample outputs, by the start of the command line that prints them.
	outputs map[string]string
}

var (
	assignment = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*=`)
	comment    = regexp.MustCompile(`\s+#\s*(.*)$`)
)

// skipReason says why a command line cannot run off Azure, or "".
func skipReason(cmd string) string {
	f := strings.Fields(cmd)
	switch {
	case f[0] == "helm":
		return "helm talks to a cluster the test does not have: the test renders the same values with helm template"
	case f[0] != "kubectl":
		return "needs Azure, a DNS name or the internet"
	}
	for _, a := range f[1:] {
		switch a {
		case "logs", "exec", "port-forward", "rollout":
			return "needs running pods: the test's kube-apiserver has no nodes"
		}
	}
	return ""
}

// lines joins continued lines and drops blank ones and comments.
func lines(text string) []string {
	var out []string
	var cur string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasSuffix(l, "\\") {
			cur += strings.TrimSpace(strings.TrimSuffix(l, "\\")) + " "
			continue
		}
		l = strings.TrimSpace(cur + l)
		cur = ""
		if l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// run runs every line of a commands block b that can run off Azure and checks it: against the
// guide's sample output when it has one, against a trailing `# yes`/`# no`, as refused when its
// comment says Forbidden, and as succeeding otherwise.
func (s *session) run(t *testing.T, b block, rw rewriter) {
	t.Helper()
	for _, l := range lines(b.text) {
		want := ""
		if m := comment.FindStringSubmatchIndex(l); m != nil {
			want, l = l[m[2]:m[3]], l[:m[0]]
		}
		cmd := rw.apply(l)
		if assignment.MatchString(cmd) {
			s.vars = append(s.vars, cmd)
			continue
		}
		if why := skipReason(cmd); why != "" {
			t.Logf("%s: skipped %q: %s", b, l, why)
			continue
		}
		env := s.admin
		if b.attrs["as"] == "developer" && strings.Fields(cmd)[1] != "create" {
			env = s.developer
		}
		stdout, stderr, code := bashRun(t, env, strings.Join(append(s.vars, cmd), "; "))
		t.Logf("%s: $ %s\n%s%s(exit code %d)", b, cmd, stdout, stderr, code)
		s.check(t, b, l, want, rw, stdout, stderr, code)
	}
}

func (s *session) check(t *testing.T, b block, line, comment string, rw rewriter, stdout, stderr string, code int) {
	t.Helper()
	for prefix, out := range s.outputs {
		if strings.HasPrefix(line, prefix) {
			if diff := cmp.Diff(rw.apply(out), stdout); diff != "" || code != 0 {
				t.Errorf("%s: %q: exit code %d, output against the guide's sample (-guide +got):\n%s\nstderr:\n%s", b, line, code, diff, stderr)
			}
			return
		}
	}
	word, _, _ := strings.Cut(comment, " ")
	switch {
	case word == "yes" || word == "no":
		if got := strings.TrimSpace(stdout); got != word {
			t.Errorf("%s: %q printed %q, the guide says %q", b, line, got, word)
		}
	case strings.Contains(comment, "Forbidden"):
		if code == 0 || !strings.Contains(stderr, "Forbidden") {
			t.Errorf("%s: %q: exit code %d, stderr %q; the guide says Forbidden", b, line, code, stderr)
		}
	case code != 0:
		t.Errorf("%s: %q failed with exit code %d:\n%s", b, line, code, stderr)
	}
}

func bashRun(t *testing.T, env []string, script string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	cmd.Env = env
	cmd.Dir = t.TempDir()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("bash -c %q: %v", script, err)
	}
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}
