package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/aksoidc/aksoidc/test/kubetest"
	"github.com/aksoidc/aksoidc/test/oidctest"
	"github.com/aksoidc/aksoidc/test/poll"
	"github.com/aksoidc/aksoidc/test/syncbuf"
)

// runningProxy is run() in this process, on loopback ports it chose itself.
type runningProxy struct {
	URL      string
	ProbeURL string
	CA       *testCA
	Logs     *syncbuf.Buffer
	Stop     context.CancelFunc
	Exit     chan int
}

// startProxy runs the proxy with the given flags plus serving, kubeconfig and port flags, and
// waits until /readyz says ready.
func startProxy(t testing.TB, kubeconfig string, args ...string) *runningProxy {
	t.Helper()
	return startProxyLogging(t, nil, kubeconfig, args...)
}

// startProxyLogging is startProxy that also writes the proxy's log to logCopy, unless nil.
func startProxyLogging(t testing.TB, logCopy io.Writer, kubeconfig string, args ...string) *runningProxy {
	t.Helper()
	ca := newTestCA(t)
	ca.issue(t)
	ctx, cancel := context.WithCancel(context.Background())
	p := &runningProxy{CA: ca, Logs: &syncbuf.Buffer{Max: 4 << 20}, Stop: cancel, Exit: make(chan int, 1)}
	all := append([]string{"aksoidc-proxy",
		"--kubeconfig=" + kubeconfig, "--readiness-check-interval=100ms", "--tls-cert-file=" + ca.Cert, "--tls-private-key-file=" + ca.Key,
		"--bind-address=127.0.0.1", "--secure-port=0", "--probe-port=0", "--shutdown-grace=10s"}, args...)
	var stderr io.Writer = p.Logs
	if logCopy != nil {
		stderr = io.MultiWriter(p.Logs, logCopy)
	}
	go func() { p.Exit <- runWith(ctx, all, "test", io.Discard, stderr) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-p.Exit:
		case <-time.After(20 * time.Second):
			t.Errorf("proxy did not stop within 20s")
		}
	})
	p.URL, p.ProbeURL = p.waitServing(t)
	poll.Until(t, 30*time.Second, func() bool { return p.probe(t, "/readyz") == http.StatusOK })
	return p
}

func (p *runningProxy) waitServing(t testing.TB) (string, string) {
	t.Helper()
	var secure, probe string
	poll.Until(t, 30*time.Second, func() bool {
		for line := range strings.Lines(p.Logs.String()) {
			var m struct{ Msg, Secure, Probe string }
			if json.Unmarshal([]byte(line), &m) == nil && m.Msg == "serving" {
				secure, probe = m.Secure, m.Probe
				return true
			}
		}
		select {
		case code := <-p.Exit:
			p.Exit <- code
			t.Fatalf("proxy exited with %d:\n%s", code, p.Logs.String())
		default:
		}
		return false
	})
	return "https://" + secure, "http://" + probe
}

func (p *runningProxy) probe(t testing.TB, path string) int {
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, p.ProbeURL+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// probeBody is the body of a probe-port path.
func (p *runningProxy) probeBody(t testing.TB, path string) string {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, p.ProbeURL+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

// metric returns the value of one series of the proxy's /metrics, 0 when absent.
func (p *runningProxy) metric(t testing.TB, series string) float64 {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, p.ProbeURL+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %s\n%s", resp.Status, body)
	}
	for line := range strings.Lines(string(body)) {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			var v float64
			_, _ = fmt.Sscan(rest, &v)
			return v
		}
	}
	return 0
}

func (p *runningProxy) config(token string) *rest.Config {
	return &rest.Config{Host: p.URL, BearerToken: token, TLSClientConfig: rest.TLSClientConfig{CAData: p.CA.PEM}}
}

func (p *runningProxy) client(t *testing.T, token string) kubernetes.Interface {
	t.Helper()
	c, err := kubernetes.NewForConfig(p.config(token))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// aliceToken is a token of alice in group devs from iss, with the tenant claim the proxies require.
func aliceToken(t *testing.T, iss *oidctest.Issuer, mutate func(map[string]any)) string {
	t.Helper()
	c := iss.Claims("alice", "kubernetes", time.Hour)
	c["groups"], c["tenant"] = []string{"devs"}, "t1"
	if mutate != nil {
		mutate(c)
	}
	return iss.Sign(t, c)
}

// serviceAccountToken returns a token for a new service account, bound to clusterRole unless
// that is "".
func serviceAccountToken(t testing.TB, cluster *kubetest.Cluster, namespace, name, clusterRole string) string {
	t.Helper()
	if clusterRole != "" {
		binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: namespace + "-" + name},
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: clusterRole},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: namespace}}}
		if _, err := cluster.AdminClient.RbacV1().ClusterRoleBindings().Create(t.Context(), binding, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return kubetest.ServiceAccountToken(t, cluster.AdminClient, namespace, name)
}
