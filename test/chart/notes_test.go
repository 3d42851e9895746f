package chart

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// testNotes checks what `helm install` prints for the user: the
// `kubectl aksoidc setup` command, and what is still missing.
func testNotes(t *testing.T, c *cluster) {
	tests := []struct {
		name     string
		args     []string
		want     []string
		dontWant []string
	}{
		{
			name: "defaults",
			want: []string{
				"WARNING: no issuer is configured, so the proxy will not start.",
				"kubectl -n notes-0 create secret tls notes-0-aksoidc-proxy-tls --cert=proxy.crt --key=proxy.key",
				"ADDRESS=$(kubectl -n notes-0 get service notes-0-aksoidc-proxy -o jsonpath='{.status.loadBalancer.ingress[0].ip}')",
				"kubectl aksoidc setup --server https://$ADDRESS\n",
				"authentication config can act as any user: treat namespace notes-0 as tier-0.",
			},
		},
		{
			name: "maximal",
			// The rbac test installs maximal-values.yaml's ClusterRole for
			// real; helm would refuse to take it over.
			args:     []string{"-f", valuesFile(t, "maximal-values.yaml"), "--set", "fullnameOverride=notes-maximal"},
			want:     []string{"kubectl aksoidc setup --server https://kube.example.com\n"},
			dontWant: []string{"WARNING", "create secret tls", "ADDRESS"},
		},
		{
			name: "load balancer with a DNS label",
			args: []string{"-f", valuesFile(t, "oidc-flags-loadbalancer-values.yaml")},
			want: []string{
				"(or use its DNS name aksoidc-demo.<region>.cloudapp.azure.com)",
				"kubectl aksoidc setup --server https://$ADDRESS\n",
			},
			dontWant: []string{"WARNING", "create secret tls"},
		},
		{
			name: "ClusterIP without ingress",
			args: []string{"--set", "service.type=ClusterIP", "--set", "oidc.issuerURL=https://issuer.example.com", "--set", "oidc.clientID=kubectl"},
			want: []string{
				"kubectl -n notes-3 port-forward service/notes-3-aksoidc-proxy 8443:443",
				"kubectl aksoidc setup --server https://127.0.0.1:8443\n",
			},
			dontWant: []string{"WARNING", "ADDRESS"},
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ns := fmt.Sprintf("notes-%d", i)
			out := helm(t, "install", ns, ns, append([]string{"--dry-run=server", "--kubeconfig", c.kubeconfig}, tt.args...)...)
			_, notes, ok := bytes.Cut(out, []byte("\nNOTES:\n"))
			if !ok {
				t.Fatalf("helm install printed no NOTES:\n%s", out)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(notes), w) {
					t.Errorf("notes lack %q:\n%s", w, notes)
				}
			}
			for _, w := range tt.dontWant {
				if strings.Contains(string(notes), w) {
					t.Errorf("notes contain %q:\n%s", w, notes)
				}
			}
		})
	}
}
