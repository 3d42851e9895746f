package chart

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/yaml"

	"github.com/aksoidc/aksoidc/test/kubetest"
	"github.com/aksoidc/aksoidc/test/oidctest"
	"github.com/aksoidc/aksoidc/test/testpki"
	"github.com/aksoidc/aksoidc/test/tooldir"
)

// TestChartRunsTheProxy runs the real proxy the way the chart's Deployment
// would: with the rendered args, the rendered ConfigMap and a TLS Secret laid
// out at the Deployment's mount paths, and the chart's ServiceAccount, bound
// to nothing but the chart's ClusterRole, as its identity at the API server.
// A user's request through it must reach the API server as that user, with
// every extra the proxy adds.
func TestChartRunsTheProxy(t *testing.T) {
	t.Parallel()
	tooldir.Path(t, "helm", "helm") // skip (or fail in CI) before starting anything
	c := startCluster(t)
	bin := buildProxy(t)
	t.Run("flags", func(t *testing.T) { testFlagsParse(t, bin) })
	issuer := oidctest.New(t)
	oidcFlags := map[string]any{
		"issuerURL": issuer.URL, "clientID": "kubectl", "caBundle": string(issuer.CAPEM),
		"usernamePrefix": "oidc:", "groupsClaim": "groups", "groupsPrefix": "oidc:",
		"requiredClaims": map[string]string{"hd": "example.com"},
	}
	// alice's token carries a jti, so kube-apiserver's authenticator adds the
	// credential-id extra the proxy passes on.
	aliceToken := func(t *testing.T, _ *cluster, _ string) string {
		claims := issuer.Claims("alice", "kubectl", time.Hour)
		claims["groups"] = []string{"devs"}
		claims["hd"] = "example.com"
		claims["jti"] = "token-1"
		return issuer.Sign(t, claims)
	}
	alice := authnv1.UserInfo{
		Username: "oidc:alice",
		Groups:   []string{"oidc:devs", "system:authenticated"},
		Extra: map[string]authnv1.ExtraValue{
			"aksoidc.io/client-ip":                       {"127.0.0.1"},
			"authentication.kubernetes.io/credential-id": {"JTI=token-1"},
		},
	}
	tests := []struct {
		name   string
		values map[string]any
		token  func(t *testing.T, c *cluster, ns string) string
		want   func(ns string) authnv1.UserInfo
		// The service account's own extras (credential-id, ...) and UID are
		// the API server's business.
		ignoreExtraAndUID bool
	}{
		{
			name:   "oidc flags",
			values: map[string]any{"oidc": oidcFlags},
			token:  aliceToken,
			want:   func(string) authnv1.UserInfo { return alice },
		},
		{
			name: "authenticationConfig",
			values: map[string]any{"authenticationConfig": map[string]any{"jwt": []any{map[string]any{
				"issuer": map[string]any{"url": issuer.URL, "audiences": []string{"kubectl"}, "certificateAuthority": string(issuer.CAPEM)},
				"claimMappings": map[string]any{
					"username": map[string]any{"claim": "sub", "prefix": "oidc:"},
					"groups":   map[string]any{"claim": "groups", "prefix": "oidc:"},
					"extra":    []any{map[string]any{"key": "example.com/team", "valueExpression": "'blue'"}},
				},
				"claimValidationRules": []any{map[string]any{"claim": "hd", "requiredValue": "example.com"}},
			}}}},
			token: aliceToken,
			want: func(string) authnv1.UserInfo {
				u := *alice.DeepCopy()
				u.Extra["example.com/team"] = authnv1.ExtraValue{"blue"}
				return u
			},
		},
		{
			// A service-account token no issuer accepts goes through as it is,
			// once the proxy's TokenReview (allowed by the chart) accepts it.
			name:   "token passthrough",
			values: map[string]any{"oidc": oidcFlags, "tokenPassthrough": map[string]any{"enabled": true}},
			token: func(t *testing.T, c *cluster, ns string) string {
				return kubetest.ServiceAccountToken(t, c.kube, ns, "ci")
			},
			want: func(ns string) authnv1.UserInfo {
				return authnv1.UserInfo{
					Username: "system:serviceaccount:" + ns + ":ci",
					Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
				}
			},
			ignoreExtraAndUID: true,
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ns := fmt.Sprintf("proxy-%d", i)
			p := c.runChartProxy(t, bin, ns, tt.values)
			got := p.selfSubjectReview(t, tt.token(t, c, ns))
			if tt.ignoreExtraAndUID {
				got.Extra, got.UID = nil, ""
			}
			if diff := cmp.Diff(tt.want(ns), got); diff != "" {
				t.Errorf("identity at the API server through the proxy (-want +got):\n%s\nproxy log:\n%s", diff, p.log())
			}
		})
	}
}

// testFlagsParse gives the proxy the flags of every CI rendering (together
// they set every flag the chart knows): each must exist and its value parse.
// --version makes the proxy exit right after parsing.
func testFlagsParse(t *testing.T, bin string) {
	for _, f := range valuesFiles(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			var dep appsv1.Deployment
			fromUnstructured(t, find(t, render(t, "flags", "flags", "-f", f), "Deployment", ""), &dep)
			args := append(dep.Spec.Template.Spec.Containers[0].Args, "--version")
			out, err := exec.CommandContext(t.Context(), bin, args...).CombinedOutput()
			if err != nil {
				t.Errorf("aksoidc-proxy refused the chart's flags %q: %v\n%s", args, err, out)
			}
		})
	}
}

// buildProxy builds cmd/proxy once for the test.
func buildProxy(t *testing.T) string {
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

// chartProxy is a proxy process started from a rendering.
type chartProxy struct {
	url    string
	client *http.Client
	mu     sync.Mutex
	stderr bytes.Buffer
}

func (p *chartProxy) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.Write(b)
}

func (p *chartProxy) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// runChartProxy installs the chart's objects in namespace ns for real and
// runs the proxy as its Deployment describes, until /readyz answers 200.
func (c *cluster) runChartProxy(t *testing.T, bin, ns string, values map[string]any) *chartProxy {
	t.Helper()
	secure, probe := freePort(t), freePort(t)
	values["containerPorts"] = map[string]int{"https": secure, "probe": probe}
	values["readinessCheckInterval"] = "500ms"
	valuesFile := filepath.Join(t.TempDir(), "values.yaml")
	data, err := yaml.Marshal(values)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(valuesFile, data, 0o600); err != nil {
		t.Fatal(err)
	}
	objs := render(t, ns, ns, "-f", valuesFile)
	c.ensureNamespaces(t, objs, ns)
	for _, obj := range objs {
		if err := c.apply(t.Context(), obj, false); err != nil {
			t.Fatalf("apply %s %s: %v", obj.GetKind(), obj.GetName(), err)
		}
	}
	var dep appsv1.Deployment
	fromUnstructured(t, find(t, objs, "Deployment", ""), &dep)
	pod := dep.Spec.Template.Spec
	root := t.TempDir()
	caPEM := c.layOutVolumes(t, root, objs, pod)
	args := make([]string, 0, len(pod.Containers[0].Args)+2)
	for _, a := range pod.Containers[0].Args {
		for _, m := range pod.Containers[0].VolumeMounts {
			a = strings.ReplaceAll(a, m.MountPath, filepath.Join(root, m.MountPath))
		}
		args = append(args, a)
	}
	args = append(args, "--kubeconfig="+c.serviceAccountKubeconfig(t, ns, pod.ServiceAccountName), "--bind-address=127.0.0.1")
	p := &chartProxy{url: fmt.Sprintf("https://127.0.0.1:%d", secure), client: tlsClient(t, caPEM)}
	cmd := exec.CommandContext(t.Context(), bin, args...)
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
	ready := pod.Containers[0].ReadinessProbe.HTTPGet.Path
	waitReady(t, fmt.Sprintf("http://127.0.0.1:%d%s", probe, ready), exited, p)
	return p
}

// layOutVolumes writes what the pod would see at each volume mount: the
// rendered ConfigMap's files and a serving certificate for the TLS Secret.
// It returns the PEM of the CA that signed the certificate.
func (c *cluster) layOutVolumes(t *testing.T, root string, objs []*unstructured.Unstructured, pod corev1.PodSpec) []byte {
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
			fromUnstructured(t, find(t, objs, "ConfigMap", v.ConfigMap.Name), &cm)
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
func (c *cluster) serviceAccountKubeconfig(t *testing.T, ns, sa string) string {
	t.Helper()
	token := kubetest.ServiceAccountToken(t, c.kube, ns, sa)
	cfg := clientcmdapi.NewConfig()
	// As in a pod's in-cluster config, the server has no trailing slash
	// (envtest's has one; the proxy's upstream /readyz check would then ask
	// for //readyz, which RBAC's public-info-viewer does not cover).
	server := strings.TrimSuffix(c.cfg.Host, "/")
	cfg.Clusters["envtest"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: c.cfg.CAData}
	cfg.AuthInfos[sa] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["proxy"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: sa}
	cfg.CurrentContext = "proxy"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func waitReady(t *testing.T, url string, exited <-chan error, p *chartProxy) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			t.Fatalf("the proxy exited (%v):\n%s", err, p.log())
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
	t.Fatalf("%s did not answer 200 within 60s; proxy log:\n%s", url, p.log())
}

// selfSubjectReview asks the API server, through the proxy, who the bearer
// of token is.
func (p *chartProxy) selfSubjectReview(t *testing.T, token string) authnv1.UserInfo {
	t.Helper()
	body := `{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}`
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, p.url+"/apis/authentication.k8s.io/v1/selfsubjectreviews", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		t.Fatalf("SelfSubjectReview through the proxy: %v", err)
	}
	defer func() { _ = resp.Body.Close() }()
	var review authnv1.SelfSubjectReview
	if resp.StatusCode != http.StatusCreated {
		var status bytes.Buffer
		_, _ = status.ReadFrom(resp.Body)
		t.Fatalf("SelfSubjectReview through the proxy: %s %s\nproxy log:\n%s", resp.Status, status.String(), p.log())
	}
	if err := json.NewDecoder(resp.Body).Decode(&review); err != nil {
		t.Fatal(err)
	}
	return review.Status.UserInfo
}

func find(t *testing.T, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, obj := range objs {
		if obj.GetKind() == kind && (name == "" || obj.GetName() == name) {
			return obj
		}
	}
	t.Fatalf("rendering has no %s %s", kind, name)
	return nil
}

func fromUnstructured(t *testing.T, u *unstructured.Unstructured, into any) {
	t.Helper()
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, into); err != nil {
		t.Fatalf("%s %s: %v", u.GetKind(), u.GetName(), err)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	var lc net.ListenConfig
	l, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	port := l.Addr().(*net.TCPAddr).Port
	return port
}

func tlsClient(t *testing.T, caPEM []byte) *http.Client {
	t.Helper()
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: testpki.ClientConfig(t, caPEM)}}
}
