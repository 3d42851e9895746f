// Package chart checks the Helm chart charts/aksoidc-proxy against the real
// kube-apiserver: every rendering CI validates offline (hack/chart-check.sh)
// must also be accepted by the API server with server-side apply in dry-run
// mode and strict field validation, and the ClusterRole it grants must let the
// proxy impersonate exactly what the proxy sends, decided by the API server's
// own RBAC authorizer; `helm install --dry-run=server` must print the
// `kubectl aksoidc setup` command users run.
//
// TestChartRunsTheProxy goes further: it runs the proxy binary with the
// rendered flags, files and ServiceAccount, so the chart and the proxy cannot
// drift apart (a flag renamed, a permission missing).
//
// The cert-manager Certificate and prometheus-operator ServiceMonitor CRDs
// (copied unchanged into testdata/crds), and a copy of the ServiceMonitor CRD
// in Azure Managed Prometheus's azmonitoring.coreos.com group (derived, see
// its header), are installed first, so those objects are checked too.
package chart

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/aksoidc/aksoidc/test/tooldir"
)

// cluster is the API server all subtests share; starting one takes seconds.
type cluster struct {
	cfg        *rest.Config
	kubeconfig string
	dyn        dynamic.Interface
	kube       kubernetes.Interface
	mapper     *restmapper.DeferredDiscoveryRESTMapper
}

func startCluster(t *testing.T) *cluster {
	t.Helper()
	env := &envtest.Environment{
		BinaryAssetsDirectory: tooldir.ControlPlaneDir(t),
		CRDDirectoryPaths:     []string{filepath.Join("testdata", "crds")},
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("start kube-apiserver: %v", err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stop kube-apiserver: %v", err)
		}
	})
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	disco, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disco))
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, env.KubeConfig, 0o600); err != nil {
		t.Fatal(err)
	}
	return &cluster{cfg: cfg, kubeconfig: kubeconfig, dyn: dyn, kube: kube, mapper: mapper}
}

// helm runs the pinned helm on the chart with args after the chart path,
// with its own config and cache dirs, and returns its stdout.
func helm(t *testing.T, command, release, namespace string, args ...string) []byte {
	t.Helper()
	stdout, stderr, err := helmRun(t, command, release, namespace, args...)
	if err != nil {
		t.Fatalf("helm %s %s: %v\n%s", command, strings.Join(args, " "), err, stderr)
	}
	return stdout
}

// helmRun is helm for a test that expects helm to fail.
func helmRun(t *testing.T, command, release, namespace string, args ...string) (stdout, stderr []byte, err error) {
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

// render returns the objects of helm template.
func render(t *testing.T, release, namespace string, args ...string) []*unstructured.Unstructured {
	t.Helper()
	out := helm(t, "template", release, namespace, args...)
	objs, err := decode(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("helm template printed invalid YAML: %v", err)
	}
	return objs
}

func decode(r io.Reader) ([]*unstructured.Unstructured, error) {
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

// apply sends obj with server-side apply and strict field validation, as
// `kubectl apply --server-side` does; dryRun asks the API server to check
// everything (admission, validation, CRD schemas) and persist nothing.
func (c *cluster) apply(ctx context.Context, obj *unstructured.Unstructured, dryRun bool) error {
	gvk := obj.GroupVersionKind()
	m, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return fmt.Errorf("%s: %w", gvk, err)
	}
	data, err := obj.MarshalJSON()
	if err != nil {
		return err
	}
	opts := metav1.PatchOptions{FieldManager: "chart-test", Force: ptr.To(true), FieldValidation: "Strict"}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	var r dynamic.ResourceInterface = c.dyn.Resource(m.Resource)
	if obj.GetNamespace() != "" {
		r = c.dyn.Resource(m.Resource).Namespace(obj.GetNamespace())
	}
	_, err = r.Patch(ctx, obj.GetName(), types.ApplyPatchType, data, opts)
	return err
}
