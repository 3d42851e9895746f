package setup

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Kubeconfig is what setup writes: a user whose token comes from
// kubectl-aksoidc and, when Server is set, a cluster and a context for it.
//
// The file is edited here, as a YAML node tree, rather than through
// `kubectl config set-credentials --exec-arg`, which splits its values on
// commas (an arg `x,--browser-command=sh` would become two), or through
// client-go's clientcmd, whose package initialisation would cost every
// get-token call milliseconds (yaml/v3's costs a tenth of one: two regexps).
type Kubeconfig struct {
	// Path is the file to write (--kubeconfig). When empty, EnvPaths and then
	// ~/.kube/config are used as kubectl uses them.
	Path string
	// EnvPaths is the value of $KUBECONFIG: a list of files.
	EnvPaths string
	// Name names the cluster, the user and the context.
	Name    string
	Server  string
	CAData  []byte
	Command string
	Args    []string
}

// Write replaces the user and cluster entries of k.Name, sets the cluster
// and user of its context, and makes it the current context when none is
// set. Every other entry stays as it is. It returns the files it changed.
//
// As kubectl does, an entry that exists is changed in the first file that
// holds it (the one in force), a new entry goes into the first file of the
// list that exists (or the last file if none does), and every file of the
// list is locked with kubectl's own <file>.lock while Write works.
func Write(k Kubeconfig) ([]string, error) {
	if err := k.Check(); err != nil {
		return nil, err
	}
	files, err := k.files()
	if err != nil {
		return nil, err
	}
	unlock, err := lockAll(files)
	if err != nil {
		return nil, err
	}
	defer unlock()
	set, err := loadAll(files)
	if err != nil {
		return nil, err
	}
	if err := k.apply(set); err != nil {
		return nil, err
	}
	return set.save()
}

// Check refuses what a kubeconfig cannot carry byte for byte: YAML and JSON
// hold only valid UTF-8, and exec cannot pass a NUL in an argument. Write
// checks too; setup calls it first so that it refuses before a login.
func (k Kubeconfig) Check() error {
	var errs []string
	bad := func(what, v string) {
		switch {
		case !utf8.ValidString(v):
			errs = append(errs, fmt.Sprintf("%s %q: not valid UTF-8, which a kubeconfig cannot hold", what, v))
		case strings.ContainsRune(v, 0):
			errs = append(errs, fmt.Sprintf("%s %q: holds a NUL byte, which exec cannot pass", what, v))
		}
	}
	if k.Name == "" {
		errs = append(errs, "kubeconfig: the name of the entries is empty")
	}
	bad("--name", k.Name)
	bad("--server", k.Server)
	bad("exec command", k.Command)
	for i, a := range k.Args {
		bad(fmt.Sprintf("exec arg %d", i+1), a)
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// edit is one named entry to write: the item of list whose name is the
// entry's, with body under field. merge keeps the body's other keys.
type edit struct {
	list, field string
	body        *yaml.Node
	merge       bool
}

// apply edits the documents in memory. Each entry is changed in the file
// that already holds it, else in the default file.
func (k Kubeconfig) apply(set *fileSet) error {
	edits := []edit{{list: "users", field: "user", body: k.userNode()}}
	if k.Server != "" {
		// A context keeps its namespace and extensions: they are the user's
		// choice and grant nothing.
		edits = append(edits,
			edit{list: "clusters", field: "cluster", body: k.clusterNode()},
			edit{list: "contexts", field: "context", body: mapping(pair{"cluster", quoted(k.Name)}, pair{"user", quoted(k.Name)}), merge: true})
	}
	for _, e := range edits {
		if err := set.holding(e.list, k.Name).upsert(e, k.Name); err != nil {
			return err
		}
	}
	// A kubeconfig without a current context (a new file) gets this one; an
	// existing choice is the user's and stays.
	if k.Server != "" && !set.hasCurrentContext() {
		set.defaultFile().setCurrentContext(k.Name)
	}
	return nil
}

// userNode is a whole user entry: replacing it, not merging into it, is
// what keeps a stale token or client certificate of the same name from
// surviving next to the exec entry.
func (k Kubeconfig) userNode() *yaml.Node {
	args := &yaml.Node{Kind: yaml.SequenceNode}
	for _, a := range k.Args {
		args.Content = append(args.Content, quoted(a))
	}
	exec := mapping(
		pair{"apiVersion", plain("client.authentication.k8s.io/v1")},
		pair{"command", quoted(k.Command)},
		pair{"args", args},
		pair{"interactiveMode", plain("IfAvailable")},
		pair{"provideClusterInfo", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"}},
	)
	return mapping(pair{"exec", exec})
}

// clusterNode is a whole cluster entry, so that no earlier
// insecure-skip-tls-verify or CA file outlives the CA written now.
func (k Kubeconfig) clusterNode() *yaml.Node {
	c := mapping(pair{"server", quoted(k.Server)})
	if len(k.CAData) > 0 {
		c.Content = append(c.Content, plain("certificate-authority-data"), plain(base64.StdEncoding.EncodeToString(k.CAData)))
	}
	return c
}
