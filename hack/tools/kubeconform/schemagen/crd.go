package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"

	"sigs.k8s.io/yaml"
)

// crdVersion is one served version of a CustomResourceDefinition.
type crdVersion struct {
	k      gvk
	schema map[string]any
}

var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// readCRDs returns the versions of every CustomResourceDefinition in the
// YAML files (several documents per file allowed; other kinds are ignored).
func readCRDs(paths []string) ([]crdVersion, error) {
	var out []crdVersion
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read CRD: %w", err)
		}
		for _, doc := range docSeparator.Split(string(data), -1) {
			vs, err := crdVersions([]byte(doc))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			out = append(out, vs...)
		}
	}
	return out, nil
}

func crdVersions(doc []byte) ([]crdVersion, error) {
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return nil, err
	}
	var crd struct {
		Kind string `json:"kind"`
		Spec struct {
			Group string `json:"group"`
			Names struct {
				Kind string `json:"kind"`
			} `json:"names"`
			Versions []struct {
				Name   string `json:"name"`
				Served bool   `json:"served"`
				Schema struct {
					OpenAPIV3Schema map[string]any `json:"openAPIV3Schema"`
				} `json:"schema"`
			} `json:"versions"`
		} `json:"spec"`
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	if err := dec.Decode(&crd); err != nil || crd.Kind != "CustomResourceDefinition" {
		return nil, err
	}
	var out []crdVersion
	for _, v := range crd.Spec.Versions {
		if !v.Served || v.Schema.OpenAPIV3Schema == nil {
			continue
		}
		out = append(out, crdVersion{gvk{crd.Spec.Group, v.Name, crd.Spec.Names.Kind}, v.Schema.OpenAPIV3Schema})
	}
	return out, nil
}

// crdSchema converts a CRD version's structural schema like the built-in
// kinds: strict objects, nullable and int-or-string made explicit.
func crdSchema(v crdVersion) map[string]any {
	e := &expander{stack: map[string]bool{}, needed: map[string]bool{}}
	s := e.node(v.schema)
	setKind(s, v.k)
	s["$schema"] = "http://json-schema.org/draft-04/schema#"
	return s
}
