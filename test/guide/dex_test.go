package guide

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aksoidc/aksoidc/test/charttest"
	"github.com/aksoidc/aksoidc/test/dextest"
)

// testDex follows the guide with Dex: Dex from the guide's values, the proxy installed as the
// guide's install command says with its Dex values and the load balancer's, the RBAC of section
// 7, the developer's setup and kubectl of section 8 with their sample outputs, the admin's
// checks of section 11, and the same login through a proxy configured with section 10's
// AuthenticationConfiguration.
func testDex(t *testing.T, g guide, c *charttest.Cluster, bins binaries) {
	bin := bins.proxy
	dex := dextest.Start(t, dextest.Options{TLS: true, Config: dexConfig(t, g, c), StartAttempts: 3})
	t.Logf("dex: serving the guide's configuration at %s, client %s", dex.IssuerURL, dex.ClientID)
	install := parseHelmInstall(t, g.get(t, "install"), nil)
	issuer := rewriter{{"https://dex.example.com", dex.IssuerURL}}
	values := installValues(t, g, install, "proxy-dex", "expose-lb")
	issuer.log(t, fmt.Sprintf("proxy values %s", blockNames(values)))
	p := c.RunProxy(t, bin, install.namespace, charttest.ProxyOptions{
		Release: install.release, ValuesFiles: filesOf(writeBlocks(t, issuer, values...)),
		Env: []string{"SSL_CERT_FILE=" + dex.CAFile}, // the issuer's CA, as a public CA would be
	})
	t.Logf("proxy: release %s in namespace %s at %s, ready", install.release, install.namespace, p.URL)

	home := t.TempDir()
	kubeconfig := filepath.Join(home, ".kube", "config")
	bundle := filepath.Join(home, "ca-bundle.pem")
	writeBundle(t, bundle, p.CAPEM, []byte(dex.CAPEM))
	rw := rewriter{
		{"https://kube.example.com", p.URL}, {"kube.example.com", "127.0.0.1"},
		{"https://dex.example.com", dex.IssuerURL}, {"<sub>", dexSubject()},
		{"alice@example.com", dextest.MockEmail}, {"example-org:platform", dextest.MockGroup},
		{"198.51.100.7", "127.0.0.1"}, {"/home/alice/.kube/config", kubeconfig},
	}
	rw.log(t, "commands and sample outputs")
	s := &session{
		admin: environ(pathEnv(c, bins.pluginDir), "HOME="+t.TempDir(), "KUBECONFIG="+c.Kubeconfig),
		developer: environ(pathEnv(c, bins.pluginDir), "HOME="+home, "KUBECONFIG="+kubeconfig, "SSL_CERT_FILE="+bundle,
			"BROWSER="+testBinary(t), browserEnv+"=1"),
		outputs: map[string]string{
			"kubectl aksoidc setup": g.get(t, "setup-output").text,
			"kubectl auth whoami":   g.get(t, "whoami").text,
		},
	}
	aggregateClusterRoles(t, c)
	s.run(t, g.get(t, "rbac"), rw)
	applyManifest(t, c, g.get(t, "rolebinding"), rw)
	for _, name := range []string{"setup", "use", "as", "verify"} {
		s.run(t, g.get(t, name), rw)
	}
	if n := dex.Logins(); n != 1 {
		t.Errorf("Dex saw %d logins, want 1: setup's, the token then comes from the plugin's cache", n)
	}
	testStructured(t, g, c, bin, s, dex, bundle, rw)
	s.vars = nil
	s.run(t, g.get(t, "forget"), rw) // last: logout forgets the token the steps above use
}

// testStructured runs section 10's AuthenticationConfiguration, "the Dex entry of section 6, as
// the proxy would read it", in a proxy of its own: the developer's kubectl, pointed at it, must
// be the same user.
func testStructured(t *testing.T, g guide, c *charttest.Cluster, bin string, s *session, dex *dextest.Server, bundle string, rw rewriter) {
	t.Helper()
	b := g.get(t, "dex-structured")
	values := block{name: b.name, text: "authenticationConfig:\n" + indent(b.text, "  ")}
	p := c.RunProxy(t, bin, "structured", charttest.ProxyOptions{
		ValuesFiles: filesOf(writeBlocks(t, rewriter{{"https://dex.example.com", dex.IssuerURL}}, values)),
		Env:         []string{"SSL_CERT_FILE=" + dex.CAFile},
	})
	writeBundle(t, bundle, p.CAPEM, []byte(dex.CAPEM))
	stdout, stderr, code := bashRun(t, s.developer, "kubectl auth whoami --server "+p.URL)
	t.Logf("%s: $ kubectl auth whoami --server %s (a proxy with this AuthenticationConfiguration)\n%s%s", b, p.URL, stdout, stderr)
	if want := rw.apply(g.get(t, "whoami").text); stdout != want || code != 0 {
		t.Errorf("%s: the same login through it: exit code %d, got\n%s\nwant (as with the flags)\n%s\nstderr:\n%s", b, code, stdout, want, stderr)
	}
}

// installValues returns the named values blocks, which must be the files of the install
// command, in its order.
func installValues(t *testing.T, g guide, install helmInstall, names ...string) []block {
	t.Helper()
	var blocks []block
	for i, name := range names {
		b := g.get(t, name)
		if i >= len(install.files) || b.attrs["file"] != install.files[i] {
			t.Fatalf("%s: the install command's values files are %v; want %s as number %d", b, install.files, b.attrs["file"], i+1)
		}
		blocks = append(blocks, b)
	}
	return blocks
}

// testBinary is this test binary, which acts as the developer's browser (see browserEnv).
func testBinary(t *testing.T) string {
	t.Helper()
	p, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func applyManifest(t *testing.T, c *charttest.Cluster, b block, rw rewriter) {
	t.Helper()
	objs, err := charttest.Decode(strings.NewReader(rw.apply(b.text)))
	if err != nil || len(objs) == 0 {
		t.Fatalf("%s: %v", b, err)
	}
	for _, obj := range objs {
		if err := c.Apply(t.Context(), obj, false); err != nil {
			t.Fatalf("%s: apply %s %s: %v", b, obj.GetKind(), obj.GetName(), err)
		}
		t.Logf("%s: applied %s %s/%s", b, obj.GetKind(), obj.GetNamespace(), obj.GetName())
	}
}

func indent(text, prefix string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(strings.TrimSuffix(text, "\n"), "\n") {
		b.WriteString(prefix + l)
	}
	return b.String() + "\n"
}

// filesOf drops the -f of helm arguments.
func filesOf(args []string) []string {
	var files []string
	for i := 1; i < len(args); i += 2 {
		files = append(files, args[i])
	}
	return files
}

func blockNames(blocks []block) string {
	var names []string
	for _, b := range blocks {
		names = append(names, b.name)
	}
	return strings.Join(names, "+")
}
