package chart

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aksoidc/aksoidc/test/charttest"
	"github.com/aksoidc/aksoidc/test/oidctest"
	"github.com/aksoidc/aksoidc/test/tooldir"
)

// TestChartOnboardingPage runs the proxy from the rendering behind Contour with the onboarding
// values: a browser gets the page with the chart's name, message and routed URL, and the
// kubeconfig names that URL; with onboarding.enabled false the same visit is refused (401) as
// any request without a token.
func TestChartOnboardingPage(t *testing.T) {
	t.Parallel()
	tooldir.Path(t, "helm", "helm")
	c := startCluster(t)
	bin := charttest.BuildProxy(t)
	issuer := oidctest.New(t)
	values := map[string]any{
		"oidc":       map[string]any{"issuerURL": issuer.URL, "clientID": "kubectl", "caBundle": string(issuer.CAPEM)},
		"service":    map[string]any{"type": "ClusterIP"},
		"contour":    map[string]any{"httpProxy": map[string]any{"enabled": true, "fqdn": "kube.example.com"}},
		"onboarding": map[string]any{"displayName": "Prod <west>", "message": "Ask #k8s"},
	}
	p := c.RunProxy(t, bin, "onboarding", charttest.ProxyOptions{Values: values})
	status, page := browse(t, p, "/")
	for _, want := range []string{`<h1 id="display-name">Prod &lt;west&gt;</h1>`, `<p class="message" id="message">Ask #k8s</p>`,
		`<pre id="setup-command">kubectl aksoidc setup --server https://kube.example.com</pre>`} {
		if status != http.StatusOK || !strings.Contains(page, want) {
			t.Errorf("GET / as a browser: %d, the page lacks %s:\n%s", status, want, page)
		}
	}
	if status, kubeconfig := browse(t, p, "/kubeconfig"); status != http.StatusOK || !strings.Contains(kubeconfig, `server: "https://kube.example.com"`) {
		t.Errorf("GET /kubeconfig: %d, not for https://kube.example.com:\n%s", status, kubeconfig)
	}

	values["onboarding"] = map[string]any{"enabled": false}
	off := c.RunProxy(t, bin, "onboarding-off", charttest.ProxyOptions{Values: values})
	if status, body := browse(t, off, "/"); status != http.StatusUnauthorized {
		t.Errorf("GET / as a browser with onboarding.enabled false: %d, want 401:\n%s", status, body)
	}
}

// browse GETs path as a browser: no credentials, HTML preferred.
func browse(t *testing.T, p *charttest.Proxy, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, p.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	resp, err := p.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}
