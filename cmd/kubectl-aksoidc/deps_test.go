package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLinksNoKubernetesPackage: get-token answers kubectl from the cache in milliseconds only
// while the plugin links no k8s.io package (apimachinery's init alone costs more). Types it
// shares with client-go are mirrored (execcredential.go) and checked against client-go in tests.
func TestLinksNoKubernetesPackage(t *testing.T) {
	out, err := exec.CommandContext(t.Context(), "go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	var linked []string
	for pkg := range strings.Lines(string(out)) {
		pkg = strings.TrimSpace(pkg)
		if strings.HasPrefix(pkg, "k8s.io/") || strings.HasPrefix(pkg, "sigs.k8s.io/") || isProxyPackage(pkg) {
			linked = append(linked, pkg)
		}
	}
	if len(linked) > 0 {
		t.Errorf("kubectl-aksoidc links %d Kubernetes or proxy packages, want none: %v", len(linked), linked)
	}
}

// isProxyPackage: what the plugin shares with the proxy lives in pkg/wellknown, so a change
// to the proxy never rebuilds or slows the plugin.
func isProxyPackage(pkg string) bool {
	const proxy = "github.com/aksoidc/aksoidc/pkg/proxy"
	return pkg == proxy || strings.HasPrefix(pkg, proxy+"/")
}
