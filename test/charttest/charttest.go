// Package charttest renders charts/aksoidc-proxy with the pinned helm, validates renderings
// offline with the pinned kubeconform, applies them to a real kube-apiserver (envtest) and runs
// the proxy binary as a rendered Deployment describes. test/chart and test/guide share it.
package charttest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/aksoidc/aksoidc/test/tooldir"
)

// CRDDir returns test/chart/testdata/crds: the CRDs of the kinds the chart can render besides
// the built-in ones (cert-manager, prometheus-operator, azmonitoring).
func CRDDir(t testing.TB) string {
	t.Helper()
	root, err := tooldir.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "test", "chart", "testdata", "crds")
}

// Cluster is a running kube-apiserver with the chart's CRDs installed.
type Cluster struct {
	Config *rest.Config
	// Kubeconfig is a cluster-admin kubeconfig file.
	Kubeconfig string
	// KubectlPath is the pinned kubectl next to the control plane.
	KubectlPath string
	Dynamic     dynamic.Interface
	Kube        kubernetes.Interface
	Mapper      *restmapper.DeferredDiscoveryRESTMapper
}

// discardEnvtestLog sets controller-runtime's logger once per process: envtest logs through it
// and prints a stack when it is unset, and setting it from parallel tests is a data race.
var discardEnvtestLog = sync.OnceFunc(func() { ctrllog.SetLogger(logr.Discard()) })

// StartCluster runs kube-apiserver and etcd with the CRDs of CRDDir until the test ends.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	discardEnvtestLog()
	dir := tooldir.ControlPlaneDir(t)
	env := &envtest.Environment{
		BinaryAssetsDirectory: dir,
		CRDDirectoryPaths:     []string{CRDDir(t)},
		ErrorIfCRDPathMissing: true,
		// envtest's 20s is short on a loaded 2-core CI machine running many packages at once.
		ControlPlaneStartTimeout: time.Minute,
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
	c := &Cluster{Config: cfg, KubectlPath: filepath.Join(dir, "kubectl")}
	if c.Dynamic, err = dynamic.NewForConfig(cfg); err != nil {
		t.Fatal(err)
	}
	if c.Kube, err = kubernetes.NewForConfig(cfg); err != nil {
		t.Fatal(err)
	}
	disco, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.Mapper = restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disco))
	c.Kubeconfig = filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(c.Kubeconfig, env.KubeConfig, 0o600); err != nil {
		t.Fatal(err)
	}
	return c
}

// Apply sends obj with server-side apply and strict field validation, as
// `kubectl apply --server-side` does; dryRun asks the API server to check
// everything (admission, validation, CRD schemas) and persist nothing.
func (c *Cluster) Apply(ctx context.Context, obj *unstructured.Unstructured, dryRun bool) error {
	gvk := obj.GroupVersionKind()
	m, err := c.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
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
	var r dynamic.ResourceInterface = c.Dynamic.Resource(m.Resource)
	if obj.GetNamespace() != "" {
		r = c.Dynamic.Resource(m.Resource).Namespace(obj.GetNamespace())
	}
	_, err = r.Patch(ctx, obj.GetName(), types.ApplyPatchType, data, opts)
	return err
}

// EnsureNamespaces creates the namespaces the objects live in, and release's,
// tolerating ones another test created already.
func (c *Cluster) EnsureNamespaces(t testing.TB, objs []*unstructured.Unstructured, release string) {
	t.Helper()
	want := map[string]bool{release: true}
	for _, obj := range objs {
		if ns := obj.GetNamespace(); ns != "" {
			want[ns] = true
		}
	}
	for ns := range want {
		obj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}
		_, err := c.Kube.CoreV1().Namespaces().Create(t.Context(), obj, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("create namespace %s: %v", ns, err)
		}
	}
}
