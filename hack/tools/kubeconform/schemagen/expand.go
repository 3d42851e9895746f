package main

import (
	"sort"
	"strings"
)

// expander inlines $refs. A reference back into a definition that is being
// expanded (a cycle) stays a local $ref, and that definition is emitted once
// under the schema's own "definitions".
type expander struct {
	defs   map[string]map[string]any
	stack  map[string]bool
	needed map[string]bool
}

// ref returns the expanded schema of definition name.
func (e *expander) ref(name string) map[string]any {
	if s, ok := special[name]; ok {
		return copyMap(s)
	}
	if e.stack[name] {
		e.needed[name] = true
		return map[string]any{"$ref": refPrefix + name}
	}
	def, ok := e.defs[name]
	if !ok {
		// An unknown reference cannot be checked; accept anything rather
		// than reject valid manifests.
		return map[string]any{}
	}
	e.stack[name] = true
	defer delete(e.stack, name)
	return e.node(def)
}

// node expands one schema node.
func (e *expander) node(in map[string]any) map[string]any {
	if r, ok := in["$ref"].(string); ok {
		out := e.ref(strings.TrimPrefix(r, refPrefix))
		if d, ok := in["description"]; ok && out["$ref"] == nil {
			out["description"] = d
		}
		return out
	}
	if in["format"] == "int-or-string" || in["x-kubernetes-int-or-string"] == true {
		return copyMap(special["io.k8s.apimachinery.pkg.util.intstr.IntOrString"])
	}
	out := map[string]any{}
	for key, v := range in {
		switch {
		case strings.HasPrefix(key, "x-kubernetes-") || key == "nullable":
			// Extensions carry no validation kubeconform understands;
			// the ones that matter are turned into JSON Schema here.
		case key == "properties":
			out[key] = e.properties(v, in["required"])
		case key == "items" || key == "additionalProperties":
			if m, ok := v.(map[string]any); ok {
				out[key] = e.node(m)
			} else {
				out[key] = v
			}
		default:
			out[key] = v
		}
	}
	_, hasProps := out["properties"]
	_, hasAdditional := out["additionalProperties"]
	if hasProps && !hasAdditional && in["x-kubernetes-preserve-unknown-fields"] != true {
		out["additionalProperties"] = false
	}
	if in["nullable"] == true {
		nullable(out)
	}
	return out
}

// properties expands each property; optional ones also accept null, as the
// API server does.
func (e *expander) properties(v, required any) map[string]any {
	props, _ := v.(map[string]any)
	req := map[string]bool{}
	if list, ok := required.([]any); ok {
		for _, r := range list {
			if s, ok := r.(string); ok {
				req[s] = true
			}
		}
	}
	out := make(map[string]any, len(props))
	for name, p := range props {
		m, _ := p.(map[string]any)
		s := e.node(m)
		if !req[name] {
			nullable(s)
		}
		out[name] = s
	}
	return out
}

func nullable(s map[string]any) {
	switch t := s["type"].(type) {
	case string:
		s["type"] = []any{t, "null"}
	case []any:
		for _, x := range t {
			if x == "null" {
				return
			}
		}
		s["type"] = append(append([]any{}, t...), "null")
	}
}

// localDefinitions expands every definition a cycle referred to, until no
// new one appears.
func (e *expander) localDefinitions() map[string]any {
	out := map[string]any{}
	for {
		var todo []string
		for name := range e.needed {
			if _, done := out[name]; !done {
				todo = append(todo, name)
			}
		}
		if len(todo) == 0 {
			return out
		}
		sort.Strings(todo)
		for _, name := range todo {
			out[name] = e.ref(name)
		}
	}
}

func copyMap(in map[string]any) map[string]any {
	out := make(map[string]any, len(in))
	for k, v := range in {
		if s, ok := v.([]any); ok {
			v = append([]any{}, s...)
		}
		out[k] = v
	}
	return out
}
