package release

import (
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aksoidc/aksoidc/test/tooldir"
)

// TestActionlint runs the pinned actionlint as `make lint` does: the
// repository's workflows pass, and a broken one fails with exactly the
// mistakes in it, so the lint step cannot pass by checking nothing.
func TestActionlint(t *testing.T) {
	t.Parallel()
	bin := tooldir.Path(t, "actionlint", "actionlint")
	root, err := tooldir.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		dir      string
		args     []string
		wantExit int
		want     string
	}{
		{name: "the repository's workflows", dir: root, wantExit: 0, want: ""},
		{
			name:     "a broken workflow",
			dir:      filepath.Join(root, "test", "release", "testdata"),
			args:     []string{"broken-workflow.yaml"},
			wantExit: 1,
			want: `broken-workflow.yaml:9:3: unknown permission scope "id-tokens". all available permission scopes are "actions", "artifact-metadata", "attestations", "checks", "contents", "deployments", "discussions", "id-token", "issues", "models", "packages", "pages", "pull-requests", "repository-projects", "security-events", "statuses" [permissions]
broken-workflow.yaml:11:3: job "release" needs job "build" which does not exist in this workflow [job-needs]
broken-workflow.yaml:18:24: property "versoin" is not defined in object type {version: {conclusion: string; outcome: string; outputs: {string => string}}} [expression]
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.CommandContext(t.Context(), bin, append([]string{"-no-color", "-oneline"}, tt.args...)...)
			cmd.Dir = tt.dir
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			exit := 0
			var exitErr *exec.ExitError
			switch {
			case errors.As(err, &exitErr):
				exit = exitErr.ExitCode()
			case err != nil:
				t.Fatalf("run %s: %v", bin, err)
			}
			if exit != tt.wantExit {
				t.Errorf("actionlint exited %d, want %d; stderr: %s", exit, tt.wantExit, stderr.String())
			}
			if diff := cmp.Diff(tt.want, stdout.String()); diff != "" {
				t.Errorf("actionlint output (-want +got):\n%s", diff)
			}
		})
	}
}
