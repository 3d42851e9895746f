package charttest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/yaml"

	"github.com/aksoidc/aksoidc/test/kubetest"
	"github.com/aksoidc/aksoidc/test/loopback"
	"github.com/aksoidc/aksoidc/test/testpki"
	"github.com/aksoidc/aksoidc/test/tooldir"
)

// BuildProxy builds cmd/proxy once for the test.
func BuildProxy(t testing.TB) string {
	t.Helper()
	root, err := tooldir.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "aksoidc-proxy")
	cmd := exec.CommandContext(t.Context(), "go", "build", "-o", bin, "./cmd/proxy")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/proxy: %v\n%s", err, out)
	}
	return bin
}

// Proxy is a proxy process started from a rendering.
type Proxy struct {
	// URL is https://127.0.0.1:PORT, served with a certificate CAPEM signed.
	URL    string
	CAPEM  []byte
	Client *http.Client
	mu     sync.Mutex
	stderr bytes.Buffer
}

func (p *Proxy) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.Write(b)
}

// Log returns what the proxy wrote so far.
func (p *Proxy) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// ProxyOptions says how to render and run the proxy.
type ProxyOptions struct {
	// Release is helm's release name; default the namespace.
	Release string
	// ValuesFiles are helm's -f files, in order.
	ValuesFiles []string
	// Values go after the test's own ports and readiness interval.
	Values map[string]any
	// Set are helm's --set arguments (key=value), which win over every file.
	Set []string
	// Env is added to the proxy's environment ("NAME=value").
	Env []string
}

// RunProxy installs the chart's objects in namespace ns for real and runs
// the proxy binary bin as its Deployment describes, with the rendered args,
// the rendered ConfigMap and a TLS Secret laid out at the Deployment's mount
// paths, and the chart's ServiceAccount, bound to nothing but the chart's
// ClusterRole, as its identity. It returns once /readyz answers 200; the
// proxy stops (SIGTERM) when the test ends.
func (c *Cluster) RunProxy(t testing.TB, bin, ns string, opts ProxyOptions) *Proxy {
	t.Helper()
	secure, probe := loopback.Port(t), loopback.Port(t)
	args := make([]string, 0, 2*len(opts.ValuesFiles)+4)
	for _, f := range opts.ValuesFiles {
		args = append(args, "-f", f)
	}
	test := map[string]any{"containerPorts": map[string]int{"https": secure, "probe": probe}, "readinessCheckInterval": "500ms"}
	args = append(args, "-f", writeValues(t, test))
	if opts.Values != nil {
		args = append(args, "-f", writeValues(t, opts.Values))
	}
	for _, kv := range opts.Set {
		args = append(args, "--set", kv)
	}
	release := opts.Release
	if release == "" {
		release = ns
	}
	objs := Render(t, release, ns, args...)
	c.EnsureNamespaces(t, objs, ns)
	for _, obj := range objs {
		if err := c.Apply(t.Context(), obj, false); err != nil {
			t.Fatalf("apply %s %s: %v", obj.GetKind(), obj.GetName(), err)
		}
	}
	var dep appsv1.Deployment
	FromUnstructured(t, Find(t, objs, "Deployment", ""), &dep)
	pod := dep.Spec.Template.Spec
	root := t.TempDir()
	caPEM := layOutVolumes(t, root, objs, pod)
	argv := make([]string, 0, len(pod.Containers[0].Args)+2)
	for _, a := range pod.Containers[0].Args {
		for _, m := range pod.Containers[0].VolumeMounts {
			a = strings.ReplaceAll(a, m.MountPath, filepath.Join(root, m.MountPath))
		}
		argv = append(argv, a)
	}
	argv = append(argv, "--kubeconfig="+c.serviceAccountKubeconfig(t, ns, pod.ServiceAccountName), "--bind-address=127.0.0.1")
	p := &Proxy{URL: fmt.Sprintf("https://127.0.0.1:%d", secure), CAPEM: caPEM, Client: TLSClient(t, caPEM)}
	p.start(t, bin, argv, opts.Env, fmt.Sprintf("http://127.0.0.1:%d%s", probe, pod.Containers[0].ReadinessProbe.HTTPGet.Path))
	return p
}

func writeValues(t testing.TB, values map[string]any) string {
	t.Helper()
	data, err := yaml.Marshal(values)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.CreateTemp(t.TempDir(), "values-*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}

func (p *Proxy) start(t testing.TB, bin string, argv, env []string, readyURL string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), bin, argv...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = p, p
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited, done := make(chan error, 1), make(chan struct{})
	go func() {
		exited <- cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() { <-done }) // t.Context has ended: SIGTERM, then wait
	waitReady(t, readyURL, exited, p)
}

// layOutVolumes writes what the pod would see at each volume mount: the
// rendered ConfigMap's files and a serving certificate for the TLS Secret.
// It returns the PEM of the CA that signed the certificate.
func layOutVolumes(t testing.TB, root string, objs []*unstructured.Unstructured, pod corev1.PodSpec) []byte {
	t.Helper()
	ca := testpki.NewCA(t, "chart test CA")
	pair := ca.Issue(t, "aksoidc-proxy")
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
	}
	for _, m := range pod.Containers[0].VolumeMounts {
		dir := filepath.Join(root, m.MountPath)
		files := map[string][]byte{}
		switch v := volumes[m.Name]; {
		case v.ConfigMap != nil:
			var cm corev1.ConfigMap
			FromUnstructured(t, Find(t, objs, "ConfigMap", v.ConfigMap.Name), &cm)
			for k, d := range cm.Data {
				files[k] = []byte(d)
			}
		case v.Secret != nil:
			files = map[string][]byte{"tls.crt": pair.CertPEM, "tls.key": pair.KeyPEM}
		default:
			t.Fatalf("volume %s: the test knows only ConfigMap and Secret volumes", m.Name)
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		for name, data := range files {
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	return ca.PEM
}

// serviceAccountKubeconfig returns a kubeconfig holding a token of the
// chart's ServiceAccount, as the pod's mounted token would be.
func (c *Cluster) serviceAccountKubeconfig(t testing.TB, ns, sa string) string {
	t.Helper()
	token := kubetest.ServiceAccountToken(t, c.Kube, ns, sa)
	cfg := clientcmdapi.NewConfig()
	// As in a pod's in-cluster config, the server has no trailing slash
	// (envtest's has one; the proxy's upstream /readyz check would then ask
	// for //readyz, which RBAC's public-info-viewer does not cover).
	server := strings.TrimSuffix(c.Config.Host, "/")
	cfg.Clusters["envtest"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: c.Config.CAData}
	cfg.AuthInfos[sa] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["proxy"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: sa}
	cfg.CurrentContext = "proxy"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func waitReady(t testing.TB, url string, exited <-chan error, p *Proxy) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			t.Fatalf("the proxy exited (%v):\n%s", err, p.Log())
		case <-time.After(200 * time.Millisecond):
		}
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
	}
	t.Fatalf("%s did not answer 200 within 60s; proxy log:\n%s", url, p.Log())
}

// SelfSubjectReview asks the API server, through the proxy, who the bearer
// of token is. It returns the HTTP status and, with 201, the identity.
func (p *Proxy) SelfSubjectReview(t testing.TB, token string) (int, authnv1.UserInfo) {
	t.Helper()
	body := `{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}`
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, p.URL+"/apis/authentication.k8s.io/v1/selfsubjectreviews", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.Client.Do(req)
	if err != nil {
		t.Fatalf("SelfSubjectReview through the proxy: %v", err)
	}
	defer func() { _ = resp.Body.Close() }()
	var review authnv1.SelfSubjectReview
	if resp.StatusCode != http.StatusCreated {
		return resp.StatusCode, authnv1.UserInfo{}
	}
	if err := json.NewDecoder(resp.Body).Decode(&review); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, review.Status.UserInfo
}

// TLSClient trusts caPEM only.
func TLSClient(t testing.TB, caPEM []byte) *http.Client {
	t.Helper()
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: testpki.ClientConfig(t, caPEM)}}
}
