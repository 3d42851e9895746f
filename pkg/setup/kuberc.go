package setup

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"go.yaml.in/yaml/v3"
)

// kubectl ≥ 1.35 reads a credential plugin policy from its kuberc: with
// credentialPluginPolicy Allowlist, only the exec commands its
// credentialPluginAllowlist names may run, and a kubeconfig setup wrote would
// fail with "not permitted by the credential plugin allowlist".
const (
	kubercGroup           = "kubectl.config.k8s.io"
	kubercPolicyAllowAll  = "AllowAll"
	kubercPolicyDenyAll   = "DenyAll"
	kubercPolicyAllowlist = "Allowlist"
)

// KubercFile is the kuberc kubectl reads, chosen as kubectl does: the --kuberc
// flag, else $KUBERC, else ~/.kube/kuberc; $KUBERC=off turns it off (""). explicit
// is whether the user named the file, where kubectl fails on a file it cannot read
// rather than ignoring it.
func KubercFile(flag string, getenv func(string) string) (path string, explicit bool, err error) {
	env := getenv("KUBERC")
	switch {
	case env == "off" && flag != "":
		return "", false, errors.New("--kuberc: $KUBERC=off turns kuberc off; kubectl refuses both together")
	case env == "off":
		return "", false, nil
	case flag != "":
		return flag, true, nil
	case env != "":
		return env, true, nil
	}
	home := getenv("HOME")
	if home == "" && runtime.GOOS == "windows" {
		home = getenv("USERPROFILE")
	}
	if home == "" {
		return "", false, nil // no home directory, so no kuberc kubectl would read
	}
	return filepath.Join(home, ".kube", "kuberc"), false, nil
}

// KubercChange is what AllowPlugin found and did.
type KubercChange struct {
	Path string
	// Policy is the file's credentialPluginPolicy ("" when it sets none, or there is no file).
	Policy string
	// Added is the command added to the allowlist, "" when none was needed.
	Added string
}

// AllowPlugin makes sure the kuberc at path lets kubectl run command, the exec
// command setup writes into the kubeconfig (an absolute path). Under an
// Allowlist policy that does not allow it yet, command is appended to the list
// and the file rewritten atomically; under DenyAll nothing is written and the
// caller explains. A file kubectl would ignore is left alone; one it would fail
// on is an error naming it.
func AllowPlugin(path string, explicit bool, command string) (KubercChange, error) {
	change := KubercChange{Path: path}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !explicit:
		return change, nil
	case err != nil:
		return change, fmt.Errorf("kuberc %s: %w", path, err)
	}
	docs, pref, err := parseKuberc(b)
	if err != nil {
		return change, fmt.Errorf("kuberc %s: %w", path, err)
	}
	if pref == nil {
		return change, nil // kubectl finds no preferences here, and no policy
	}
	change.Policy, err = scalarValue(pref, "credentialPluginPolicy")
	if err != nil || change.Policy != kubercPolicyAllowlist {
		return change, wrapKuberc(path, err)
	}
	list := lookup(pref, "credentialPluginAllowlist")
	if list == nil || list.Kind != yaml.SequenceNode {
		return change, fmt.Errorf("kuberc %s: credentialPluginPolicy is Allowlist but credentialPluginAllowlist is not a list (kubectl refuses every plugin)", path)
	}
	if allowed(list, command) {
		return change, nil
	}
	entry := allowlistEntry(command)
	list.Style = 0
	list.Content = append(list.Content, mapping(pair{"name", quoted(entry)}))
	fi, err := os.Stat(path)
	if err != nil {
		return change, fmt.Errorf("kuberc %s: %w", path, err)
	}
	out, err := encodeAll(docs)
	if err != nil {
		return change, fmt.Errorf("kuberc %s: %w", path, err)
	}
	if err := writeAtomic(path, out, fi.Mode().Perm()); err != nil {
		return change, fmt.Errorf("write kuberc %s: %w", path, err)
	}
	change.Added = entry
	return change, nil
}

// allowlistEntry is command as kubectl wants an entry: an absolute, clean path.
func allowlistEntry(command string) string {
	if !filepath.IsAbs(command) {
		if p, err := exec.LookPath(command); err == nil {
			command = p
		}
	}
	return filepath.Clean(command)
}

func wrapKuberc(path string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("kuberc %s: %w", path, err)
}

// parseKuberc returns every document and the mapping kubectl uses: the first
// document of kind Preference in kubectl.config.k8s.io.
func parseKuberc(b []byte) ([]*yaml.Node, *yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var docs []*yaml.Node
	var pref *yaml.Node
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs, pref, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("not YAML: %w", err)
		}
		docs = append(docs, &doc)
		if pref == nil && len(doc.Content) == 1 && isPreference(doc.Content[0]) {
			pref = doc.Content[0]
		}
	}
}

func isPreference(m *yaml.Node) bool {
	kind, _ := scalarValue(m, "kind")
	apiVersion, _ := scalarValue(m, "apiVersion")
	return kind == "Preference" && strings.HasPrefix(apiVersion, kubercGroup+"/")
}

// scalarValue is the string value of key in m, "" when absent or null.
func scalarValue(m *yaml.Node, key string) (string, error) {
	v := lookup(m, key)
	if v == nil || v.ShortTag() == "!!null" {
		return "", nil
	}
	if v.Kind != yaml.ScalarNode {
		return "", fmt.Errorf("%s is not a string", key)
	}
	return v.Value, nil
}

// allowed applies client-go's rule (exec.go checkAllowlistLocked): an entry
// allows command if it names it verbatim once cleaned, or if both resolve
// through PATH to the same file.
func allowed(list *yaml.Node, command string) bool {
	resolved, resolveErr := exec.LookPath(command)
	for _, item := range list.Content {
		name, err := scalarValue(item, "name")
		if err != nil || name == "" {
			continue
		}
		if filepath.Clean(name) == filepath.Clean(command) {
			return true
		}
		if resolveErr != nil || filepath.Base(name) != filepath.Base(command) {
			continue
		}
		if p, err := exec.LookPath(name); err == nil && p == resolved {
			return true
		}
	}
	return false
}

func encodeAll(docs []*yaml.Node) ([]byte, error) {
	var buf bytes.Buffer
	for i, doc := range docs {
		if i > 0 {
			buf.WriteString("---\n")
		}
		b, err := encode(doc)
		if err != nil {
			return nil, err
		}
		buf.Write(b)
	}
	return buf.Bytes(), nil
}
