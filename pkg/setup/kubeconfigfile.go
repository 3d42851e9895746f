package setup

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"go.yaml.in/yaml/v3"
)

// kubeconfigFile is one file of kubectl's list, parsed as a node tree so that
// what setup does not write is written back as it was read.
type kubeconfigFile struct {
	path    string
	exists  bool
	mode    fs.FileMode
	doc     *yaml.Node // a document node; Content[0] is the root mapping
	changed bool
}

// fileSet is the list of files kubectl reads, in its order of precedence.
type fileSet struct {
	files []*kubeconfigFile
	def   int // where new entries go
}

// files lists the kubeconfig files as kubectl does: the explicit file, else
// $KUBECONFIG's list without empty or repeated entries, else ~/.kube/config.
func (k Kubeconfig) files() ([]string, error) {
	if k.Path != "" {
		return []string{k.Path}, nil
	}
	var list []string
	for _, p := range filepath.SplitList(k.EnvPaths) {
		if p != "" && !slices.Contains(list, p) {
			list = append(list, p)
		}
	}
	if len(list) > 0 {
		return list, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: no --kubeconfig, no $KUBECONFIG and no home directory: %w", err)
	}
	return []string{filepath.Join(home, ".kube", "config")}, nil
}

// lockAll takes kubectl's own lock on every file (<file>.lock, created
// exclusively), in sorted order as kubectl does, so that setup and a
// `kubectl config` command never interleave their writes.
func lockAll(files []string) (unlock func(), err error) {
	sorted := slices.Sorted(slices.Values(files))
	var held []string
	unlock = func() {
		for _, l := range held {
			_ = os.Remove(l)
		}
	}
	for _, f := range sorted {
		if err := os.MkdirAll(filepath.Dir(f), 0o700); err != nil {
			unlock()
			return nil, fmt.Errorf("kubeconfig %s: %w", f, err)
		}
		l, err := os.OpenFile(f+".lock", os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if errors.Is(err, fs.ErrExist) {
			unlock()
			return nil, fmt.Errorf("kubeconfig %s is locked: %s exists (a kubectl config command may be writing it; if none is, remove the lock file)", f, f+".lock")
		}
		if err != nil {
			unlock()
			return nil, fmt.Errorf("kubeconfig %s: lock: %w", f, err)
		}
		_ = l.Close()
		held = append(held, f+".lock")
	}
	return unlock, nil
}

// loadAll reads every file; a missing one is an empty document. New entries
// go to the first file that exists, or the last of the list if none does.
func loadAll(paths []string) (*fileSet, error) {
	set := &fileSet{def: -1}
	for i, p := range paths {
		f, err := load(p)
		if err != nil {
			return nil, err
		}
		if f.exists && set.def < 0 {
			set.def = i
		}
		set.files = append(set.files, f)
	}
	if set.def < 0 {
		set.def = len(paths) - 1
	}
	return set, nil
}

func load(path string) (*kubeconfigFile, error) {
	f := &kubeconfigFile{path: path, mode: 0o600}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		f.doc = newDocument()
		return f, nil
	case err != nil:
		return nil, fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	f.exists, f.mode = true, fi.Mode().Perm()
	if f.doc, err = parseDocument(b); err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	return f, nil
}

// parseDocument wants one YAML document holding a mapping, or nothing.
func parseDocument(b []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var doc yaml.Node
	if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
		return newDocument(), nil
	} else if err != nil {
		return nil, fmt.Errorf("not YAML: %w", err)
	}
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return nil, errors.New("holds more than one YAML document, which kubectl does not read")
	}
	if len(doc.Content) == 0 || doc.Content[0].ShortTag() == "!!null" {
		doc.Content = newDocument().Content
	}
	if doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("not a YAML mapping")
	}
	return &doc, nil
}

func newDocument() *yaml.Node {
	root := mapping(pair{"apiVersion", plain("v1")}, pair{"kind", plain("Config")})
	return &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}}
}

func (f *kubeconfigFile) root() *yaml.Node { return f.doc.Content[0] }

// holding returns the first file whose list holds an entry named name: the
// entry kubectl uses. Without one, it is the default file.
func (s *fileSet) holding(list, name string) *kubeconfigFile {
	for _, f := range s.files {
		if l := lookup(f.root(), list); l != nil && l.Kind == yaml.SequenceNode {
			for _, item := range l.Content {
				if isNamed(item, name) {
					return f
				}
			}
		}
	}
	return s.defaultFile()
}

func (s *fileSet) defaultFile() *kubeconfigFile { return s.files[s.def] }

// hasCurrentContext reports whether any file sets one: the first that does
// wins when kubectl merges the list.
func (s *fileSet) hasCurrentContext() bool {
	for _, f := range s.files {
		if c := lookup(f.root(), "current-context"); c != nil && c.Kind == yaml.ScalarNode && c.ShortTag() != "!!null" && c.Value != "" {
			return true
		}
	}
	return false
}

// save writes every changed file, each atomically, and returns their paths.
func (s *fileSet) save() ([]string, error) {
	var written []string
	for _, f := range s.files {
		if !f.changed {
			continue
		}
		b, err := encode(f.doc)
		if err != nil {
			return written, fmt.Errorf("kubeconfig %s: %w", f.path, err)
		}
		if err := writeAtomic(f.path, b, f.mode); err != nil {
			return written, fmt.Errorf("write kubeconfig %s: %w", f.path, err)
		}
		written = append(written, f.path)
	}
	return written, nil
}

// encode writes doc as kubectl writes a kubeconfig: two-space indents.
func encode(doc *yaml.Node) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return buf.Bytes(), nil
}

// writeAtomic replaces path by renaming a complete temporary file over it,
// so that kubectl never reads half a kubeconfig and a failure leaves the old
// one. A symlinked kubeconfig (dotfiles) is written through: the link stays.
func writeAtomic(path string, data []byte, mode fs.FileMode) error {
	if target, err := filepath.EvalSymlinks(path); err == nil {
		path = target
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp.Name()) }() // nothing is left to remove after the rename
	if err := tmp.Chmod(mode); err != nil {
		_ = tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
