package charttest

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/aksoidc/aksoidc/test/tooldir"
)

// Helm runs the pinned helm on the chart with args after the chart path,
// with its own config and cache dirs, and returns its stdout.
func Helm(t testing.TB, command, release, namespace string, args ...string) []byte {
	t.Helper()
	stdout, stderr, err := HelmRun(t, command, release, namespace, args...)
	if err != nil {
		t.Fatalf("helm %s %s: %v\n%s", command, strings.Join(args, " "), err, stderr)
	}
	return stdout
}

// HelmRun is Helm for a test that expects helm to fail.
func HelmRun(t testing.TB, command, release, namespace string, args ...string) (stdout, stderr []byte, err error) {
	t.Helper()
	root, err := tooldir.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := tooldir.Path(t, "helm", "helm")
	argv := append([]string{command, release, filepath.Join(root, "charts", "aksoidc-proxy"), "--namespace", namespace}, args...)
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(t.Context(), bin, argv...)
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HELM_CONFIG_HOME="+home, "HELM_CACHE_HOME="+home, "HELM_DATA_HOME="+home)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.Bytes(), errOut.Bytes(), err
}

// Render returns the objects of helm template.
func Render(t testing.TB, release, namespace string, args ...string) []*unstructured.Unstructured {
	t.Helper()
	out := Helm(t, "template", release, namespace, args...)
	objs, err := Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("helm template printed invalid YAML: %v", err)
	}
	return objs
}

// Decode reads a stream of YAML or JSON objects, skipping empty documents.
func Decode(r io.Reader) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(r, 4096)
	var objs []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		err := dec.Decode(&u.Object)
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, err
		}
		if len(u.Object) > 0 {
			objs = append(objs, u)
		}
	}
}

// Find returns the first object of kind (and name, unless empty), failing the test without one.
func Find(t testing.TB, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, obj := range objs {
		if obj.GetKind() == kind && (name == "" || obj.GetName() == name) {
			return obj
		}
	}
	t.Fatalf("rendering has no %s %s", kind, name)
	return nil
}

// FromUnstructured converts u into a typed object.
func FromUnstructured(t testing.TB, u *unstructured.Unstructured, into any) {
	t.Helper()
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, into); err != nil {
		t.Fatalf("%s %s: %v", u.GetKind(), u.GetName(), err)
	}
}
