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
	"context"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/aksoidc/aksoidc/test/charttest"
)

// cluster is the API server all subtests share; starting one takes seconds.
type cluster struct {
	*charttest.Cluster
	cfg        *rest.Config
	kubeconfig string
	kube       kubernetes.Interface
}

func startCluster(t *testing.T) *cluster {
	t.Helper()
	c := charttest.StartCluster(t)
	return &cluster{Cluster: c, cfg: c.Config, kubeconfig: c.Kubeconfig, kube: c.Kube}
}

// The rendering helpers test/guide shares.
var (
	helm             = charttest.Helm
	helmRun          = charttest.HelmRun
	render           = charttest.Render
	find             = charttest.Find
	fromUnstructured = charttest.FromUnstructured
)

// apply sends obj with server-side apply and strict field validation (see charttest).
func (c *cluster) apply(ctx context.Context, obj *unstructured.Unstructured, dryRun bool) error {
	return c.Apply(ctx, obj, dryRun)
}

func (c *cluster) ensureNamespaces(t *testing.T, objs []*unstructured.Unstructured, release string) {
	t.Helper()
	c.EnsureNamespaces(t, objs, release)
}
