package setup

import (
	"fmt"

	"go.yaml.in/yaml/v3"
)

// pair is one key and value of a mapping node.
type pair struct {
	key   string
	value *yaml.Node
}

func mapping(pairs ...pair) *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode}
	for _, p := range pairs {
		m.Content = append(m.Content, plain(p.key), p.value)
	}
	return m
}

// plain is a string the emitter may write unquoted; only fixed, known-safe
// values are written this way.
func plain(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}

// quoted is a string from the user, a flag or the discovery document. A
// double-quoted scalar escapes every line break and control character and
// is never read as anything but a string, also by YAML 1.1 readers such as
// the one in client-go, where a plain `on` or `y` would be a boolean.
func quoted(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s, Style: yaml.DoubleQuotedStyle}
}

// lookup returns the value of key in mapping m, or nil.
func lookup(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// set replaces the value of key in mapping m, or appends the key.
func set(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.Value == key {
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, plain(key), v)
}

func isNamed(item *yaml.Node, name string) bool {
	n := lookup(item, "name")
	return n != nil && n.Kind == yaml.ScalarNode && n.Value == name
}

// upsert writes e.body under e.field of every item of e.list named name,
// or appends such an item.
func (f *kubeconfigFile) upsert(e edit, name string) error {
	list := lookup(f.root(), e.list)
	if list == nil || list.ShortTag() == "!!null" {
		list = &yaml.Node{Kind: yaml.SequenceNode}
		set(f.root(), e.list, list)
	}
	if list.Kind != yaml.SequenceNode {
		return fmt.Errorf("kubeconfig %s: %s is not a list", f.path, e.list)
	}
	if len(list.Content) == 0 {
		list.Style = 0 // `users: []` grows into a block list, as kubectl writes it
	}
	f.changed = true
	found := false
	for _, item := range list.Content {
		if !isNamed(item, name) {
			continue
		}
		found = true
		cur := lookup(item, e.field)
		if !e.merge || cur == nil || cur.Kind != yaml.MappingNode {
			set(item, e.field, e.body)
			continue
		}
		for i := 0; i+1 < len(e.body.Content); i += 2 {
			set(cur, e.body.Content[i].Value, e.body.Content[i+1])
		}
	}
	if !found {
		list.Content = append(list.Content, mapping(pair{"name", quoted(name)}, pair{e.field, e.body}))
	}
	return nil
}

func (f *kubeconfigFile) setCurrentContext(name string) {
	set(f.root(), "current-context", quoted(name))
	f.changed = true
}
