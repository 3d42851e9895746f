package chart

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// lineBreakRefusal is how the chart refuses a value holding a line break other than \n.
const lineBreakRefusal = "a value holds a carriage return, NEL, LS or PS"

// TestOtherLineBreaksAreRefused: YAML reads CR, NEL, LS and PS as line breaks, but helm's
// nindent indents only after "\n", and toYaml writes LS and PS raw inside a block scalar; so a
// value holding one (with a "\n" elsewhere, which makes toYaml choose a block scalar) could add
// fields at any depth: a Deployment selector, the proxy's args, a namespace. Values in free-form
// objects (annotations, extraEnv) are not strings of the schema, so the chart refuses these
// characters in any value, key or string alike.
func TestOtherLineBreaksAreRefused(t *testing.T) {
	t.Parallel()
	base := map[string]any{"oidc": map[string]any{"issuerURL": "https://issuer.example.com", "clientID": "kubectl"}}
	vehicles := map[string]func(payload string) map[string]any{
		"an annotation": func(p string) map[string]any {
			return map[string]any{"podAnnotations": map[string]any{"note": p}}
		},
		"an env value": func(p string) map[string]any {
			return map[string]any{"extraEnv": []any{map[string]any{"name": "NOTE", "value": p}}}
		},
		"a label's key": func(p string) map[string]any {
			return map[string]any{"podLabels": map[string]any{p: "x"}}
		},
	}
	for _, br := range []struct{ name, char string }{{"CR", "\r"}, {"NEL", "\u0085"}, {"LS", "\u2028"}, {"PS", "\u2029"}} {
		payload := "x" + br.char + "  selector:" + br.char + "    matchLabels: {app: other}\n"
		for name, vehicle := range vehicles {
			t.Run(br.name+" in "+name, func(t *testing.T) {
				t.Parallel()
				values := vehicle(payload)
				values["oidc"] = base["oidc"]
				b, err := json.Marshal(values)
				if err != nil {
					t.Fatal(err)
				}
				// JSON leaves NEL raw, which helm's YAML reader would fold into a space before any
				// template saw it; an escape hands helm the character itself, as --set-json does.
				b = []byte(strings.ReplaceAll(string(b), "\u0085", `\u0085`))
				file := filepath.Join(t.TempDir(), "values.json")
				if err := os.WriteFile(file, b, 0o600); err != nil {
					t.Fatal(err)
				}
				_, stderr, err := helmRun(t, "template", "lb", "lb", "--values", file)
				if err == nil || !strings.Contains(string(stderr), lineBreakRefusal) {
					t.Errorf("helm template: err %v, stderr:\n%s\nwant an error containing %q", err, stderr, lineBreakRefusal)
				}
			})
		}
	}
}
