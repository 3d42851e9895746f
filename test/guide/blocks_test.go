// Package guide runs docs/aks.md and the chart README as tests. Every block a reader copies that
// can run off Azure is marked in the Markdown with an HTML comment before its fence,
//
//	<!-- test: KIND name=NAME [key=value ...] -->
//
// and this package extracts and runs it: helm values are rendered and validated, Dex starts with
// the guide's Dex configuration (connector swapped for mockCallback), the proxy runs from the
// rendered manifests against a real kube-apiserver, and the command sequences run with the real
// kubectl and plugin, their output compared with the guide's sample output. The test rewrites
// only what cannot be the same off Azure: host names, ports, the identity Dex's mock connector
// logs in as; each rewrite is printed. A fenced yaml or json block without a marker fails the
// test (mark an Azure-only one `<!-- test: skip reason=... -->`), and so does a marked block
// the test expects but no longer finds, so a guide edit cannot escape the test.
package guide

import (
	"cmp"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/aksoidc/aksoidc/test/tooldir"
)

// guideFiles are the Markdown files whose blocks are run, relative to the repository root.
var guideFiles = []string{"docs/aks.md", "charts/aksoidc-proxy/README.md"}

// Kinds of marked blocks.
const (
	kindValues       = "values"        // helm values of charts/aksoidc-proxy
	kindDexValues    = "dex-values"    // values of Dex's chart; config is Dex's configuration
	kindDexConnector = "dex-connector" // an alternative connectors list for the Dex values
	kindAuthnConfig  = "authn-config"  // an AuthenticationConfiguration
	kindManifest     = "manifest"      // a Kubernetes object to apply
	kindCommands     = "commands"      // a command sequence
	kindOutput       = "output"        // sample output of a command
	kindSkip         = "skip"          // runs only on Azure: reason= says why
)

var knownKinds = map[string]bool{
	kindValues: true, kindDexValues: true, kindDexConnector: true, kindAuthnConfig: true,
	kindManifest: true, kindCommands: true, kindOutput: true, kindSkip: true,
}

// block is one marked fenced block.
type block struct {
	file, kind, name string
	line             int // of the opening fence
	attrs            map[string]string
	lang, text       string
}

func (b block) String() string { return fmt.Sprintf("%s:%d (%s %s)", b.file, b.line, b.kind, b.name) }

var (
	fence  = regexp.MustCompile("^(\\s*)```(\\S*)\\s*$")
	marker = regexp.MustCompile(`^\s*<!-- test: (.*) -->\s*$`)
)

// parseBlocks returns the marked blocks of a Markdown file, or every problem with its markers.
func parseBlocks(file, markdown string) ([]block, []error) {
	lines := strings.Split(markdown, "\n")
	var blocks []block
	var errs []error
	for i := 0; i < len(lines); i++ {
		m := fence.FindStringSubmatch(lines[i])
		if m == nil {
			if marker.MatchString(lines[i]) && (i+1 == len(lines) || !fence.MatchString(lines[i+1])) {
				errs = append(errs, fmt.Errorf("%s:%d: a test marker not followed by a fenced block", file, i+1))
			}
			continue
		}
		indent, lang, start := m[1], m[2], i
		var body []string
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
			body = append(body, strings.TrimPrefix(lines[i], indent))
		}
		b := block{file: file, line: start + 1, lang: lang, text: strings.Join(body, "\n") + "\n"}
		if start == 0 || !marker.MatchString(lines[start-1]) {
			if lang == "yaml" || lang == "json" {
				errs = append(errs, fmt.Errorf("%s:%d: a %s block without a test marker: mark it for the test, or `<!-- test: skip reason=... -->` if it runs only on Azure", file, start+1, lang))
			}
			continue
		}
		if err := b.parseMarker(marker.FindStringSubmatch(lines[start-1])[1]); err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: %w", file, start, err))
			continue
		}
		blocks = append(blocks, b)
	}
	return blocks, errs
}

// parseMarker reads "KIND key=value ... [reason=free text]".
func (b *block) parseMarker(s string) error {
	kind, rest, _ := strings.Cut(strings.TrimSpace(s), " ")
	if !knownKinds[kind] {
		return fmt.Errorf("test marker: unknown kind %q", kind)
	}
	b.kind, b.attrs = kind, map[string]string{}
	for rest = strings.TrimSpace(rest); rest != ""; rest = strings.TrimSpace(rest) {
		field, more, _ := strings.Cut(rest, " ")
		key, value, ok := strings.Cut(field, "=")
		if !ok || value == "" {
			return fmt.Errorf("test marker: want key=value, got %q", field)
		}
		if key == "reason" {
			value, more = strings.TrimSpace(strings.TrimPrefix(rest, "reason=")), ""
		}
		b.attrs[key], rest = value, more
	}
	b.name = b.attrs["name"]
	switch {
	case kind == kindSkip && b.attrs["reason"] == "":
		return fmt.Errorf("test marker: skip needs reason=")
	case kind != kindSkip && b.name == "":
		return fmt.Errorf("test marker: %s needs name=", kind)
	}
	return nil
}

// guide is every marked block of guideFiles, by name.
type guide struct {
	blocks map[string]block
}

// inOrder returns the blocks in the order of guideFiles and of their lines.
func (g guide) inOrder() []block {
	blocks := slices.Collect(maps.Values(g.blocks))
	slices.SortFunc(blocks, func(a, b block) int {
		return cmp.Or(cmp.Compare(slices.Index(guideFiles, a.file), slices.Index(guideFiles, b.file)), cmp.Compare(a.line, b.line))
	})
	return blocks
}

func (g guide) get(t testing.TB, name string) block {
	t.Helper()
	b, ok := g.blocks[name]
	if !ok {
		t.Fatalf("no block marked name=%s in %v", name, guideFiles)
	}
	return b
}

// loadGuide parses guideFiles; the test fails on any marker problem or duplicate name.
func loadGuide(t testing.TB) guide {
	t.Helper()
	root, err := tooldir.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	g := guide{blocks: map[string]block{}}
	for _, f := range guideFiles {
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		blocks, errs := parseBlocks(f, string(data))
		for _, err := range errs {
			t.Error(err)
		}
		for _, b := range blocks {
			if b.kind == kindSkip {
				continue
			}
			if prev, dup := g.blocks[b.name]; dup {
				t.Errorf("%v: name %s is taken by %v", b, b.name, prev)
			}
			g.blocks[b.name] = b
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	return g
}

// wantBlocks are the marked blocks the test runs: removing or renaming one fails it.
var wantBlocks = map[string]string{
	"dex": kindDexValues, "ldap": kindDexConnector,
	"expose-lb": kindValues, "private-cluster": kindValues, "internal-lb": kindValues, "expose-contour": kindValues,
	"proxy-dex": kindValues, "proxy-entra": kindValues, "readme-entra": kindValues,
	"install": kindCommands, "rbac": kindCommands, "as": kindCommands, "setup": kindCommands, "use": kindCommands,
	"verify": kindCommands, "forget": kindCommands, "readme-install": kindCommands,
	"rolebinding": kindManifest, "dex-structured": kindAuthnConfig, "entra-v1": kindAuthnConfig,
	"setup-output": kindOutput, "whoami": kindOutput, "refusal-log": kindOutput,
}

// TestMarkedBlocks needs no tool: every yaml and json block is marked, and the blocks the test
// runs are all there.
func TestMarkedBlocks(t *testing.T) {
	t.Parallel()
	g := loadGuide(t)
	got := map[string]string{}
	for name, b := range g.blocks {
		got[name] = b.kind
	}
	if diff := gocmp.Diff(wantBlocks, got); diff != "" {
		t.Errorf("marked blocks in %v (-want +got):\n%s", guideFiles, diff)
	}
}

func TestParseBlocks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, markdown string
		want           []string // kind name attrs text, per block
		wantErrs       []string
	}{
		{
			name:     "marked, skipped and unmarked blocks",
			markdown: "<!-- test: values name=a file=v.yaml -->\n```yaml\nx: 1\n```\n\n<!-- test: skip reason=Azure only, really -->\n```json\n{}\n```\n```sh\nls\n```\n",
			want:     []string{"values a map[file:v.yaml name:a] x: 1\n", "skip  map[reason:Azure only, really] {}\n"},
		},
		{
			name:     "an indented block inside a list",
			markdown: "- item\n\n  <!-- test: output name=o -->\n  ```\n  a\n    b\n  ```\n",
			want:     []string{"output o map[name:o] a\n  b\n"},
		},
		{
			name:     "a yaml block without a marker",
			markdown: "text\n```yaml\nx: 1\n```\n",
			wantErrs: []string{"f.md:2: a yaml block without a test marker: mark it for the test, or `<!-- test: skip reason=... -->` if it runs only on Azure"},
		},
		{
			name:     "a marker without a block",
			markdown: "<!-- test: values name=a -->\n\n```yaml\nx: 1\n```\n",
			wantErrs: []string{"f.md:1: a test marker not followed by a fenced block", "f.md:3: a yaml block without a test marker: mark it for the test, or `<!-- test: skip reason=... -->` if it runs only on Azure"},
		},
		{
			name:     "bad markers",
			markdown: "<!-- test: valeus name=a -->\n```yaml\n```\n<!-- test: skip -->\n```json\n```\n<!-- test: values -->\n```yaml\n```\n",
			wantErrs: []string{`f.md:1: test marker: unknown kind "valeus"`, "f.md:4: test marker: skip needs reason=", "f.md:7: test marker: values needs name="},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			blocks, errs := parseBlocks("f.md", tt.markdown)
			var got, gotErrs []string
			for _, b := range blocks {
				got = append(got, fmt.Sprintf("%s %s %v %s", b.kind, b.name, b.attrs, b.text))
			}
			for _, err := range errs {
				gotErrs = append(gotErrs, err.Error())
			}
			if diff := gocmp.Diff(tt.want, got); diff != "" {
				t.Errorf("blocks (-want +got):\n%s", diff)
			}
			if diff := gocmp.Diff(tt.wantErrs, gotErrs); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}
