// Package release tests the parts of a release that goreleaser does not
// check itself: the Helm chart pushed to a real OCI registry and installed
// from it, and the release workflow under actionlint. hack/release-check.sh
// runs TestChartOCIRoundTrip on the release's own chart package.
package release

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/aksoidc/aksoidc/test/charttest"
	"github.com/aksoidc/aksoidc/test/tooldir"
)

// chartPackageEnv names a chart package to test instead of one packaged
// here: hack/release-check.sh passes the release's.
const chartPackageEnv = "AKSOIDC_RELEASE_CHART"

const image = "ghcr.io/aksoidc/aksoidc-proxy"

var packageName = regexp.MustCompile(`^aksoidc-proxy-(.+)\.tgz$`)

// chartPackage returns the chart package to test and its version.
func chartPackage(t *testing.T) (pkg, version string) {
	t.Helper()
	pkg = os.Getenv(chartPackageEnv)
	if pkg == "" {
		root, err := tooldir.RepoRoot()
		if err != nil {
			t.Fatal(err)
		}
		tooldir.Path(t, "helm", "helm")
		out, err := exec.CommandContext(t.Context(), filepath.Join(root, "hack", "chart-package.sh"),
			"0.0.0-oci-test", t.TempDir()).Output()
		if err != nil {
			t.Fatalf("hack/chart-package.sh: %v", err)
		}
		pkg = strings.TrimSpace(string(out))
	}
	m := packageName.FindStringSubmatch(filepath.Base(pkg))
	if m == nil {
		t.Fatalf("%s=%s: want a path ending in aksoidc-proxy-VERSION.tgz", chartPackageEnv, pkg)
	}
	return pkg, m[1]
}

// TestChartOCIRoundTrip pushes the chart package to a real OCI registry on
// loopback and uses it from there as a user would: helm pull, show,
// template and install --dry-run=server against a real kube-apiserver.
func TestChartOCIRoundTrip(t *testing.T) {
	t.Parallel()
	pkg, version := chartPackage(t)
	reg := startRegistry(t)
	c := charttest.StartCluster(t)
	h := newHelm(t, c.Kubeconfig)

	if _, err := h.run(t, "push", pkg, "oci://"+reg+"/charts", "--plain-http"); err != nil {
		t.Fatal(err)
	}
	ref := "oci://" + reg + "/charts/aksoidc-proxy"
	t.Run("pull gives back the package", func(t *testing.T) { testPull(t, h, pkg, ref, version) })
	t.Run("show chart", func(t *testing.T) { testShowChart(t, h, ref, version) })
	t.Run("template", func(t *testing.T) { testTemplate(t, h, ref, version) })
	t.Run("install --dry-run=server", func(t *testing.T) { testInstallDryRun(t, h, c, ref, version) })
	t.Run("unknown version", func(t *testing.T) {
		_, err := h.run(t, "template", "absent", ref, "--version", "0.0.0-absent", "--plain-http")
		if err == nil || !isExit(err) || !strings.Contains(err.Error(), "0.0.0-absent: not found") {
			t.Errorf("helm template of a version never pushed: %v; want helm to exit with %q", err, "0.0.0-absent: not found")
		}
	})
}

func testPull(t *testing.T, h *helmCLI, pkg, ref, version string) {
	dir := t.TempDir()
	h.mustRun(t, "pull", ref, "--version", version, "--plain-http", "--destination", dir)
	want, err := os.ReadFile(pkg)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, filepath.Base(pkg)))
	if err != nil {
		t.Fatalf("helm pull %s --version %s: %v", ref, version, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("helm pull %s --version %s gave %d bytes that differ from the %d pushed", ref, version, len(got), len(want))
	}
}

// chartMeta is the part of Chart.yaml a release stamps.
type chartMeta struct {
	Name        string            `json:"name"`
	Version     string            `json:"version"`
	AppVersion  string            `json:"appVersion"`
	Annotations map[string]string `json:"annotations"`
}

// artifactHubImage is an entry of the artifacthub.io/images annotation.
type artifactHubImage struct {
	Name      string   `json:"name"`
	Image     string   `json:"image"`
	Platforms []string `json:"platforms"`
}

func testShowChart(t *testing.T, h *helmCLI, ref, version string) {
	var got chartMeta
	if err := yaml.Unmarshal([]byte(h.mustRun(t, "show", "chart", ref, "--version", version, "--plain-http")), &got); err != nil {
		t.Fatal(err)
	}
	var images []artifactHubImage
	if err := yaml.UnmarshalStrict([]byte(got.Annotations["artifacthub.io/images"]), &images); err != nil {
		t.Fatalf("annotation artifacthub.io/images: %v", err)
	}
	wantImages := []artifactHubImage{{Name: "aksoidc-proxy", Image: image + ":v" + version, Platforms: []string{"linux/amd64", "linux/arm64"}}}
	if diff := cmp.Diff(wantImages, images); diff != "" {
		t.Errorf("artifacthub.io/images (-want +got):\n%s", diff)
	}
	got.Annotations = map[string]string{"artifacthub.io/prerelease": got.Annotations["artifacthub.io/prerelease"],
		"artifacthub.io/license": got.Annotations["artifacthub.io/license"]}
	want := chartMeta{Name: "aksoidc-proxy", Version: version, AppVersion: "v" + version, Annotations: map[string]string{
		"artifacthub.io/prerelease": prerelease(version), "artifacthub.io/license": "Apache-2.0"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("helm show chart %s (-want +got):\n%s", ref, diff)
	}
}

func prerelease(version string) string {
	if strings.Contains(version, "-") {
		return "true"
	}
	return "false"
}

// values every rendering needs: the chart refuses to run without an issuer.
var values = []string{"--set", "oidc.issuerURL=https://issuer.example.com", "--set", "oidc.clientID=kubectl"}

func testTemplate(t *testing.T, h *helmCLI, ref, version string) {
	out := h.mustRun(t, append([]string{"template", "oci-template", ref, "--version", version, "--plain-http", "--namespace", "oci"}, values...)...)
	objs, err := charttest.Decode(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	var d appsv1.Deployment
	charttest.FromUnstructured(t, charttest.Find(t, objs, "Deployment", ""), &d)
	var got []string
	for _, c := range d.Spec.Template.Spec.Containers {
		got = append(got, c.Image)
	}
	if diff := cmp.Diff([]string{image + ":v" + version}, got); diff != "" {
		t.Errorf("container images of the Deployment from %s (-want +got):\n%s", ref, diff)
	}
}

func testInstallDryRun(t *testing.T, h *helmCLI, c *charttest.Cluster, ref, version string) {
	const ns = "oci-install"
	if _, err := c.Kube.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"install", "oci-install", ref, "--version", version, "--plain-http",
		"--namespace", ns, "--dry-run=server"}, values...)
	out := h.mustRun(t, args...)
	for _, want := range []string{"NAME: oci-install\n", "NAMESPACE: oci-install\n", "STATUS: pending-install\n",
		"kind: Deployment\n", "image: \"" + image + ":v" + version + "\"\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("helm %s printed no %q:\n%s", strings.Join(args, " "), want, out)
		}
	}
	// A server-side dry run persists nothing.
	list, err := c.Kube.AppsV1().Deployments(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 0 {
		t.Errorf("the dry run left %d Deployments in %s", len(list.Items), ns)
	}
}
