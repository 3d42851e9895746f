package chart

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// exposureBase is a minimal valid configuration behind something in front of a ClusterIP
// Service.
var exposureBase = []string{"--set", "oidc.issuerURL=https://issuer.example.com", "--set", "oidc.clientID=kubectl", "--set", "service.type=ClusterIP"}

// TestExposureRendering: each exposure option renders the object its controller needs, routed
// to the chart's Service port, and the URL it gives the proxy reaches the onboarding page's
// flags. The API server checks the same objects against their CRDs (TestChart's dry run of
// ci/contour-httpproxy-values.yaml and ci/gateway-api-values.yaml) and kubeconform against their
// schemas (hack/chart-check.sh).
func TestExposureRendering(t *testing.T) {
	t.Parallel()
	backend := []any{map[string]any{"name": "exp-aksoidc-proxy", "port": float64(443)}} // JSON numbers decode as float64
	parent := []any{map[string]any{"name": "shared", "namespace": "gateways", "sectionName": "tls"}}
	cases := []struct {
		name     string
		args     []string
		want     map[string]map[string]any // kind -> spec
		wantArgs []string                  // the onboarding flags
	}{
		{
			name: "contour",
			args: []string{"--set", "contour.httpProxy.enabled=true", "--set", "contour.httpProxy.fqdn=kube.example.com"},
			want: map[string]map[string]any{"HTTPProxy": {
				"virtualhost": map[string]any{"fqdn": "kube.example.com", "tls": map[string]any{"passthrough": true}},
				"tcpproxy":    map[string]any{"services": backend},
			}},
			wantArgs: []string{"--onboarding-server-url=https://kube.example.com"},
		},
		{
			name: "gateway TLS passthrough, a wildcard first",
			args: []string{"--set", "gatewayAPI.tlsRoute.enabled=true", "--set", "gatewayAPI.tlsRoute.parentRefs[0].name=shared",
				"--set", "gatewayAPI.tlsRoute.parentRefs[0].namespace=gateways", "--set", "gatewayAPI.tlsRoute.parentRefs[0].sectionName=tls",
				"--set", "gatewayAPI.tlsRoute.hostnames={*.kube.example.com,kube.example.com}",
				"--set", "onboarding.displayName=Prod", "--set", "onboarding.message=Ask #k8s"},
			want: map[string]map[string]any{"TLSRoute": {
				"parentRefs": parent, "hostnames": []any{"*.kube.example.com", "kube.example.com"},
				"rules": []any{map[string]any{"backendRefs": backend}},
			}},
			wantArgs: []string{"--onboarding-server-url=https://kube.example.com", "--onboarding-display-name=Prod", "--onboarding-message=Ask #k8s"},
		},
		{
			name: "gateway re-encrypt",
			args: []string{"--set", "gatewayAPI.httpRoute.enabled=true", "--set", "gatewayAPI.httpRoute.parentRefs[0].name=shared",
				"--set", "gatewayAPI.httpRoute.parentRefs[0].namespace=gateways", "--set", "gatewayAPI.httpRoute.parentRefs[0].sectionName=tls",
				"--set", "gatewayAPI.httpRoute.hostnames={kube.example.com}", "--set", "gatewayAPI.httpRoute.timeouts.request=0s",
				"--set", "gatewayAPI.httpRoute.backendTLS.wellKnownCACertificates=System", "--set", "externalURL=https://k8s.example.com/"},
			want: map[string]map[string]any{
				"HTTPRoute": {
					"parentRefs": parent, "hostnames": []any{"kube.example.com"},
					"rules": []any{map[string]any{"backendRefs": backend, "timeouts": map[string]any{"request": "0s"}}},
				},
				"BackendTLSPolicy": {
					"targetRefs": []any{map[string]any{"group": "", "kind": "Service", "name": "exp-aksoidc-proxy", "sectionName": "https"}},
					"validation": map[string]any{"hostname": "exp-aksoidc-proxy.exp.svc", "wellKnownCACertificates": "System"},
				},
			},
			wantArgs: []string{"--onboarding-server-url=https://k8s.example.com"},
		},
		{
			name:     "onboarding off",
			args:     []string{"--set", "contour.httpProxy.enabled=true", "--set", "contour.httpProxy.fqdn=kube.example.com", "--set", "onboarding.enabled=false"},
			want:     map[string]map[string]any{"HTTPProxy": nil},
			wantArgs: []string{"--onboarding=false"},
		},
		{
			name: "no URL known: no page",
			args: nil,
			want: map[string]map[string]any{},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			objs := render(t, "exp", "exp", append(append([]string{}, exposureBase...), tc.args...)...)
			got := map[string]map[string]any{}
			for _, obj := range objs {
				switch kind := obj.GetKind(); kind {
				case "HTTPProxy", "TLSRoute", "HTTPRoute", "BackendTLSPolicy":
					spec, _, _ := unstructured.NestedMap(obj.Object, "spec")
					if tc.want[kind] == nil {
						spec = nil // only its presence is the case's
					}
					got[kind] = spec
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("exposure objects' specs (-want +got):\n%s", diff)
			}
			var d appsv1.Deployment
			fromUnstructured(t, find(t, objs, "Deployment", ""), &d)
			var onboarding []string
			for _, a := range d.Spec.Template.Spec.Containers[0].Args {
				if strings.HasPrefix(a, "--onboarding") {
					onboarding = append(onboarding, a)
				}
			}
			if diff := cmp.Diff(tc.wantArgs, onboarding); diff != "" {
				t.Errorf("onboarding flags (-want +got):\n%s", diff)
			}
		})
	}
}
