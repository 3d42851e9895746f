package chart

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"regexp/syntax"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/aksoidc/aksoidc/test/charttest"
	"github.com/aksoidc/aksoidc/test/tooldir"
)

// TestStringValuesCannotChangeTheManifests sets every string value of the schema (enums aside)
// to text that YAML would read as structure (a flow map, a comment, a new key at each
// indentation), and renders each ci/ values file with it: helm either refuses the value (its
// schema pattern, a template's check) or puts it, whole, into a string of the rendered objects
// (or of a YAML document embedded in one, as the ConfigMap's), and no object gains a key. An
// unquoted `{{ .Values.x }}` without a pattern fails this: the operator's value would add fields
// to the Deployment.
func TestStringValuesCannotChangeTheManifests(t *testing.T) {
	t.Parallel()
	root, err := tooldir.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	chart := filepath.Join(root, "charts", "aksoidc-proxy")
	all := stringPaths(t, filepath.Join(chart, "values.schema.json"))
	files, err := filepath.Glob(filepath.Join(chart, "ci", "*-values.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no ci/*-values.yaml: %v", err)
	}
	var mu sync.Mutex // the parallel subtests each add what they reached
	reached := map[string]bool{}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			base := readValues(t, filepath.Join(chart, "values.yaml"))
			merge(base, readValues(t, file))
			var settable []stringValue // a harmless value for each: which ones reach the output?
			var marks []string
			for i, v := range all {
				mark := fmt.Sprintf("mark%03dx", i)
				if !v.refused(mark) && setIn(deepCopy(t, base), v.path, "") {
					settable = append(settable, v)
					marks = append(marks, v.prefix+mark)
				}
			}
			used := reaching(t, base, settable, marks)
			for _, variant := range hostileValues {
				checkHostile(t, base, settable, used, variant)
			}
			t.Logf("%d of %d string values reach the manifests with this file", len(used), len(all))
			mu.Lock()
			defer mu.Unlock()
			for _, i := range used {
				reached[settable[i].path.String()] = true // read after the parallel subtests end
			}
		})
	}
	t.Cleanup(func() {
		for p := range prefixOnly {
			if !reached[p] {
				t.Errorf("%s: no ci/ file puts it in the manifests, so nothing shows that its free part is safe", p)
			}
		}
	})
}

// hostileValues are what an unquoted value turns into YAML structure: a flow map, a comment,
// a new line at each indentation the chart's templates use, and the line breaks other than \n
// that YAML knows. Each takes the path's index.
var hostileValues = []hostile{
	{whole: true, make: func(i int) string { return fmt.Sprintf("{injected%03d: x} #c", i) }},
	{whole: true, make: func(i int) string { return fmt.Sprintf("v%03d\ninjected%03d: x", i, i) }},
	{whole: true, make: func(i int) string { return fmt.Sprintf("v%03d\n  injected%03d: x", i, i) }},
	{whole: true, make: func(i int) string { return fmt.Sprintf("v%03d\n    injected%03d: x", i, i) }},
	{whole: true, make: func(i int) string { return fmt.Sprintf("v%03d\n      injected%03d: x", i, i) }},
	{whole: true, make: func(i int) string { return fmt.Sprintf("v%03d\n        injected%03d: x", i, i) }},
	{whole: true, make: func(i int) string { return fmt.Sprintf("v%03d\n          injected%03d: x", i, i) }},
	{whole: true, make: func(i int) string { return fmt.Sprintf("v%03d\n            injected%03d: x", i, i) }},
	{whole: true, make: func(i int) string { return fmt.Sprintf("v%03d\rinjected%03d: x", i, i) }},
	{whole: true, make: func(i int) string { return fmt.Sprintf("v%03d\r    injected%03d: x", i, i) }},
	{whole: true, make: func(i int) string { return fmt.Sprintf("v%03d\u2028    injected%03d: x", i, i) }},
	{whole: true, make: func(i int) string { return fmt.Sprintf("v%03d\u2029    injected%03d: x", i, i) }},
	// With a \n too, toYaml writes a block scalar and leaves LS and PS raw in it, where nindent
	// does not indent after them.
	{whole: true, make: func(i int) string { return fmt.Sprintf("v%03d\u2028injected%03d: x\n", i, i) }},
	{whole: true, make: func(i int) string { return fmt.Sprintf("v%03d\u2028  injected%03d: x\n", i, i) }},
	{whole: true, make: func(i int) string { return fmt.Sprintf("v%03d\u2028    injected%03d: x\n", i, i) }},
	{whole: true, make: func(i int) string { return fmt.Sprintf("v%03d\u2029  injected%03d: x\n", i, i) }},
	{whole: true, make: func(i int) string { return fmt.Sprintf("v%03d\r  injected%03d: x\n", i, i) }},
	// A quoted NEL reaches the objects as a line break (YAML 1.1 folds it): changed, but a string.
	{whole: false, make: func(i int) string { return fmt.Sprintf("v%03d\u0085    injected%03d: x", i, i) }},
}

// hostile is one kind of hostile value; whole says it must reach the manifests unchanged.
type hostile struct {
	make  func(i int) string
	whole bool
}

// checkHostile renders with variant at every used path and reports a value that does not
// arrive whole or adds a key.
func checkHostile(t *testing.T, base map[string]any, settable []stringValue, used []int, variant hostile) {
	t.Helper()
	var batch []path
	var values, keys []string
	for _, i := range used {
		if v := variant.make(i); !settable[i].refused(v) {
			batch, values = append(batch, settable[i].path), append(values, settable[i].prefix+v)
			keys = append(keys, fmt.Sprintf("injected%03d", i))
		}
	}
	renderEach(t, base, batch, values, func(r rendering, k int) {
		if variant.whole && !r.holds(values[k]) {
			t.Errorf("%s = %q: the value did not reach the manifests whole", batch[k], values[k])
		}
		if r.hasKey(keys[k]) {
			t.Errorf("%s = %q: the value added a key to the manifests", batch[k], values[k])
		}
	})
}

// reaching returns the indexes of the paths whose harmless value reaches the manifests.
func reaching(t *testing.T, base map[string]any, settable []stringValue, marks []string) []int {
	t.Helper()
	paths := make([]path, len(settable))
	for i, v := range settable {
		paths[i] = v.path
	}
	var used []int
	renderEach(t, base, paths, marks, func(r rendering, k int) {
		if r.holds(marks[k]) {
			used = append(used, k)
		}
	})
	if len(used) == 0 {
		t.Fatal("no value reaches the manifests: the file itself is refused")
	}
	sort.Ints(used)
	return used
}

// renderEach renders with all values at their paths at once and calls check for each; when helm
// refuses the lot (a value only applies in another mode, a template's check), it halves it until
// each refusal is a value on its own, as few are, unless the refusal is the chart's rule against
// line breaks other than \n, which refuses any value holding one.
func renderEach(t *testing.T, base map[string]any, paths []path, values []string, check func(r rendering, k int)) {
	t.Helper()
	var try func(lo, hi int)
	try = func(lo, hi int) {
		r := renderWith(t, base, paths[lo:hi], values[lo:hi])
		switch {
		case r.err != nil && strings.Contains(string(r.stderr), lineBreakRefusal):
			// The chart refuses every value that holds such a line break, so each one of these.
		case r.err == nil:
			for k := lo; k < hi; k++ {
				check(r, k)
			}
		case hi-lo > 1:
			try(lo, (lo+hi)/2)
			try((lo+hi)/2, hi)
		}
	}
	if len(paths) > 0 {
		try(0, len(paths))
	}
}

// path is where a value sits in values.yaml: map keys, with "[]" for an array's first item and
// "*" for a map's (any) key.
type path []string

func (p path) String() string { return strings.Join(p, ".") }

// stringValue is a string the schema allows at a path, with its pattern when it has one.
type stringValue struct {
	path    path
	pattern *regexp.Regexp
	// prefix makes a value the pattern accepts: the literal its pattern starts with, for the
	// patterns anchored at the start only (TestSchemaPatternsAreAnchored).
	prefix string
}

// refused says whether the schema refuses v here; helm would, before any template runs.
func (s stringValue) refused(v string) bool {
	return s.pattern != nil && !s.pattern.MatchString(s.prefix+v)
}

// prefixOnly are the patterns that check how a value starts and leave the rest free, with the
// start of a value they accept.
var prefixOnly = map[string]string{
	"oidc.caBundle":                                   "-----BEGIN CERTIFICATE-----\n",
	"authenticationConfig.jwt.[].issuer.url":          "https://",
	"authenticationConfig.jwt.[].issuer.discoveryURL": "https://",
	"extraArgs.[]":                                    "--",
}

// stringPaths walks the schema, through its $defs, for string values other than enums and consts.
func stringPaths(t *testing.T, schemaFile string) []stringValue {
	t.Helper()
	b, err := os.ReadFile(schemaFile) //nolint:gosec // the chart's own schema
	if err != nil {
		t.Fatal(err)
	}
	var schema map[string]any
	if err := json.Unmarshal(b, &schema); err != nil {
		t.Fatalf("%s: %v", schemaFile, err)
	}
	var out []stringValue
	var walk func(node map[string]any, at path)
	walk = func(node map[string]any, at path) {
		if ref, ok := node["$ref"].(string); ok { // the schema's own definitions, "#/$defs/name"
			defs, _ := schema["$defs"].(map[string]any)
			def, ok := defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
			if !ok {
				t.Fatalf("%s: %s at %s: want a definition under $defs", schemaFile, ref, at)
			}
			node = def
		}
		if node["type"] == "string" && node["enum"] == nil && node["const"] == nil {
			v := stringValue{path: append(path(nil), at...)}
			if p, ok := node["pattern"].(string); ok {
				v.pattern = regexp.MustCompile(p) // the schema's patterns keep to what RE2 and ECMA-262 share
				v.prefix = prefixOnly[v.path.String()]
			}
			out = append(out, v)
		}
		props, _ := node["properties"].(map[string]any)
		names := make([]string, 0, len(props))
		for name := range props {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			if child, ok := props[name].(map[string]any); ok {
				walk(child, append(at, name))
			}
		}
		if items, ok := node["items"].(map[string]any); ok {
			walk(items, append(at, "[]"))
		}
		if extra, ok := node["additionalProperties"].(map[string]any); ok {
			walk(extra, append(at, "*"))
		}
	}
	walk(schema, nil)
	if len(out) == 0 {
		t.Fatalf("%s: no string values found", schemaFile)
	}
	return out
}

func readValues(t *testing.T, file string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(file) //nolint:gosec // the chart's own ci/ files
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := yaml.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return v
}

// setIn puts value at p in v, when every container on the way is there already (the first
// item of an array, the key "k" of a map whose keys are free): a new array item or section
// would be refused by the schema, or switch the chart to another mode, not test the value.
func setIn(v map[string]any, p path, value string) bool {
	var cur any = v
	for i, step := range p {
		last := i == len(p)-1
		switch c := cur.(type) {
		case map[string]any:
			key := step
			if step == "*" {
				key = "k"
			} else if _, ok := c[key]; !ok && !last {
				return false
			}
			if last {
				c[key] = value
				return true
			}
			cur = c[key]
		case []any:
			if len(c) == 0 {
				return false
			}
			if last {
				c[0] = value
				return true
			}
			cur = c[0]
		default:
			return false
		}
	}
	return false
}

// merge lays over on base as helm does: maps merge key by key, anything else replaces.
func merge(base, over map[string]any) {
	for k, v := range over {
		if m, ok := v.(map[string]any); ok {
			if b, ok := base[k].(map[string]any); ok {
				merge(b, m)
				continue
			}
		}
		base[k] = v
	}
}

// rendering is one helm template run.
type rendering struct {
	skipped bool // a path's containers are not in this file's values
	err     error
	stderr  []byte
	strings []string // every string in the objects and in the YAML documents embedded in them
	keys    []string // every map key, likewise
}

// renderWith renders the chart with base and values at paths, each set in a deep copy of base.
func renderWith(t *testing.T, base map[string]any, paths []path, values []string) rendering {
	t.Helper()
	v := deepCopy(t, base)
	for i, p := range paths {
		if !setIn(v, p, values[i]) {
			return rendering{skipped: true}
		}
	}
	b, err := json.Marshal(v) // JSON is YAML, and escapes every control character
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "values.json")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := charttest.HelmRun(t, "template", "inj", "inj", "--values", file)
	if err != nil {
		return rendering{err: err, stderr: stderr}
	}
	objs, err := charttest.Decode(bytes.NewReader(stdout))
	if err != nil {
		t.Errorf("helm printed invalid YAML for %v: %v", paths, err)
		return rendering{err: err}
	}
	var r rendering
	for _, o := range objs {
		r.collect(o.Object, 0)
	}
	return r
}

func deepCopy(t *testing.T, v map[string]any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// collect gathers strings and keys, descending into strings that hold a YAML map (a ConfigMap's
// files) up to a small depth.
func (r *rendering) collect(v any, depth int) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			r.keys = append(r.keys, k)
			r.collect(e, depth)
		}
	case []any:
		for _, e := range x {
			r.collect(e, depth)
		}
	case string:
		r.strings = append(r.strings, x)
		var doc map[string]any
		if depth < 2 && strings.Contains(x, "\n") && yaml.Unmarshal([]byte(x), &doc) == nil {
			r.collect(doc, depth+1)
		}
	}
}

func (r rendering) holds(s string) bool {
	for _, x := range r.strings {
		if strings.Contains(x, s) {
			return true
		}
	}
	return false
}

func (r rendering) hasKey(key string) bool {
	return slices.Contains(r.keys, key)
}

// TestSchemaPatternsAreAnchored: a pattern holds a value to a form only when each of its
// alternatives is anchored at both ends ("^$|[a-z]+$" lets "x\ninjected: y" through, as
// tls.secretName's once did); the prefixOnly ones are knowingly open at the end, and the
// injection test shows their values stay strings.
func TestSchemaPatternsAreAnchored(t *testing.T) {
	t.Parallel()
	root, err := tooldir.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range stringPaths(t, filepath.Join(root, "charts", "aksoidc-proxy", "values.schema.json")) {
		if v.pattern == nil {
			continue
		}
		if _, open := prefixOnly[v.path.String()]; open {
			continue
		}
		re, err := syntax.Parse(v.pattern.String(), syntax.Perl)
		if err != nil {
			t.Fatal(err)
		}
		if !anchored(re) {
			t.Errorf("%s: pattern %q is not anchored at both ends in every alternative", v.path, v.pattern)
		}
	}
}

// anchored says whether re must match from the start of the text to its end.
func anchored(re *syntax.Regexp) bool {
	return edge(re, 0, syntax.OpBeginText) && edge(re, -1, syntax.OpEndText)
}

// edge says whether every way through re starts (at 0) or ends (at -1) with op.
func edge(re *syntax.Regexp, at int, op syntax.Op) bool {
	switch re.Op {
	case op:
		return true
	case syntax.OpCapture:
		return edge(re.Sub[0], at, op)
	case syntax.OpAlternate:
		for _, s := range re.Sub {
			if !edge(s, at, op) {
				return false
			}
		}
		return true
	case syntax.OpConcat:
		i := at
		if at < 0 {
			i = len(re.Sub) + at
		}
		return len(re.Sub) > 0 && edge(re.Sub[i], at, op)
	}
	return false
}
