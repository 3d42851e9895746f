// Command schemagen turns kube-apiserver's OpenAPI v2 document
// (k8s.io/kubernetes's api/openapi-spec/swagger.json) into one standalone,
// strict JSON schema per kind, named the way kubeconform looks them up with
// -schema-location 'DIR/{{.ResourceKind}}{{.KindSuffix}}.json'. kubeconform
// downloads such schemas by default; generating them from the module cache
// keeps chart validation offline and pinned to K8S_VERSION.
//
// The schemas follow what the API server accepts: references are inlined
// (a recursive type, only JSONSchemaProps, keeps a local $ref), IntOrString
// takes a string or an integer, Quantity a string or a number, optional fields
// may be null, and objects with known properties reject unknown ones.
//
// CustomResourceDefinitions given as arguments get schemas the same way,
// from their structural openAPIV3Schema.
//
// Usage: schemagen -out DIR [-swagger swagger.json] [crd.yaml ...]
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

const refPrefix = "#/definitions/"

// special replaces types whose JSON form differs from their OpenAPI type.
var special = map[string]map[string]any{
	"io.k8s.apimachinery.pkg.util.intstr.IntOrString": {"type": []any{"string", "integer"}},
	"io.k8s.apimachinery.pkg.api.resource.Quantity":   {"type": []any{"string", "number"}},
}

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "schemagen:", err)
		os.Exit(1)
	}
}

func run(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("schemagen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	swagger := fs.String("swagger", "", "path of kube-apiserver's swagger.json")
	out := fs.String("out", "", "directory to write the per-kind schemas into")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || (*swagger == "" && fs.NArg() == 0) {
		return errors.New("want -out and -swagger, CRD files or both")
	}
	if err := os.MkdirAll(*out, 0o755); err != nil { //nolint:gosec // schemas are public
		return fmt.Errorf("-out: %w", err)
	}
	w := writer{dir: *out, written: map[string]string{}}
	if *swagger != "" {
		defs, err := readDefinitions(*swagger)
		if err != nil {
			return err
		}
		if err := w.definitions(defs); err != nil {
			return err
		}
	}
	crds, err := readCRDs(fs.Args())
	if err != nil {
		return err
	}
	for _, v := range crds {
		if err := w.write(v.k, "CRD "+apiVersion(v.k)+" "+v.k.Kind, crdSchema(v)); err != nil {
			return err
		}
	}
	_, _ = fmt.Fprintf(stderr, "schemagen: wrote %d schemas into %s\n", len(w.written), *out)
	return nil
}

func readDefinitions(path string) (map[string]map[string]any, error) {
	f, err := os.Open(path) //nolint:gosec // the path is the tool's input
	if err != nil {
		return nil, fmt.Errorf("-swagger: %w", err)
	}
	defer func() { _ = f.Close() }()
	dec := json.NewDecoder(f)
	dec.UseNumber()
	var doc struct {
		Definitions map[string]map[string]any `json:"definitions"`
	}
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("-swagger %s: %w", path, err)
	}
	if len(doc.Definitions) == 0 {
		return nil, fmt.Errorf("-swagger %s: no definitions", path)
	}
	return doc.Definitions, nil
}

type gvk struct{ Group, Version, Kind string }

// writer writes schema files, refusing two sources for one file name.
type writer struct {
	dir     string
	written map[string]string
}

// definitions writes a schema for every group/version/kind a definition serves.
func (w writer) definitions(defs map[string]map[string]any) error {
	names := make([]string, 0, len(defs))
	for name := range defs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		for _, k := range kinds(defs[name]) {
			if err := w.write(k, name, kindSchema(defs, name, k)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (w writer) write(k gvk, source string, s map[string]any) error {
	file := fileName(k)
	if prev, ok := w.written[file]; ok {
		return fmt.Errorf("%s and %s both map to %s", prev, source, file)
	}
	w.written[file] = source
	return writeSchema(filepath.Join(w.dir, file), s)
}

func kinds(def map[string]any) []gvk {
	list, _ := def["x-kubernetes-group-version-kind"].([]any)
	var out []gvk
	for _, item := range list {
		m, _ := item.(map[string]any)
		g, _ := m["group"].(string)
		v, _ := m["version"].(string)
		k, _ := m["kind"].(string)
		if v != "" && k != "" {
			out = append(out, gvk{g, v, k})
		}
	}
	return out
}

// fileName mirrors kubeconform's template data: ResourceKind is the lower-case
// kind, KindSuffix is "-<first label of the group>-<version>" ("-<version>"
// for the core group).
func fileName(k gvk) string {
	suffix := "-" + strings.ToLower(k.Version)
	if k.Group != "" {
		suffix = "-" + strings.ToLower(strings.Split(k.Group, ".")[0]) + suffix
	}
	return strings.ToLower(k.Kind) + suffix + ".json"
}

func apiVersion(k gvk) string {
	if k.Group == "" {
		return k.Version
	}
	return k.Group + "/" + k.Version
}

// kindSchema expands definition name into a standalone schema.
func kindSchema(defs map[string]map[string]any, name string, k gvk) map[string]any {
	e := &expander{defs: defs, stack: map[string]bool{}, needed: map[string]bool{}}
	s := e.ref(name)
	setKind(s, k)
	if local := e.localDefinitions(); len(local) > 0 {
		s["definitions"] = local
	}
	s["$schema"] = "http://json-schema.org/draft-04/schema#"
	return s
}

// setKind makes apiVersion and kind accept only k's.
func setKind(s map[string]any, k gvk) {
	if props, ok := s["properties"].(map[string]any); ok {
		props["apiVersion"] = map[string]any{"type": "string", "enum": []any{apiVersion(k)}}
		props["kind"] = map[string]any{"type": "string", "enum": []any{k.Kind}}
	}
}

func writeSchema(path string, s map[string]any) error {
	data, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil { //nolint:gosec // schemas are public
		return fmt.Errorf("write schema: %w", err)
	}
	return nil
}
