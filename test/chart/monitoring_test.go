package chart

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/aksoidc/aksoidc/pkg/proxy"
)

// proxyMetric matches the proxy's own metric names in a query; a histogram's series carry a
// suffix the proxy's registry does not name.
var proxyMetric = regexp.MustCompile(`aksoidc_proxy_[a-z_]+`)

// TestAlertsAndDashboardQueryWhatTheProxyExports renders the PrometheusRule and the Grafana
// dashboard: the dashboard is JSON with a query per panel, and every aksoidc_proxy_ metric
// either queries is one the proxy exports, so a renamed metric cannot silently empty them.
// (Their schemas are checked by hack/chart-check.sh and the API server's dry run.)
func TestAlertsAndDashboardQueryWhatTheProxyExports(t *testing.T) {
	objs := render(t, "monitoring", "aksoidc", "-f", valuesFile(t, "maximal-values.yaml"))
	rule := find(t, objs, "PrometheusRule", "")
	groups, _, _ := unstructured.NestedSlice(rule.Object, "spec", "groups")
	var queries []string
	for _, g := range groups {
		rules, _ := g.(map[string]any)["rules"].([]any)
		for _, r := range rules {
			queries = append(queries, r.(map[string]any)["expr"].(string))
		}
	}
	if len(queries) != 3 {
		t.Errorf("the PrometheusRule has %d alerts, want 3 (issuer down, 5xx ratio, refusal spike)", len(queries))
	}
	var data map[string]any
	for _, obj := range objs {
		if obj.GetKind() == "ConfigMap" && strings.HasSuffix(obj.GetName(), "-dashboard") {
			data, _ = obj.Object["data"].(map[string]any)
		}
	}
	var d struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal([]byte(data["aksoidc-proxy.json"].(string)), &d); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, target := range p.Targets {
			queries = append(queries, target.Expr)
		}
	}
	exported := proxy.NewMetrics().Names()
	for _, q := range queries {
		for _, name := range proxyMetric.FindAllString(q, -1) {
			base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_count"), "_sum")
			if !slices.Contains(exported, base) {
				t.Errorf("query %q uses %s, which the proxy does not export (it exports %v)", q, name, exported)
			}
		}
	}
}
