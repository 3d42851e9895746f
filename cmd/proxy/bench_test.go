package main

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aksoidc/aksoidc/test/kubetest"
	"github.com/aksoidc/aksoidc/test/oidctest"
	"github.com/aksoidc/aksoidc/test/poll"
	"github.com/aksoidc/aksoidc/test/testpki"
	"github.com/aksoidc/aksoidc/test/tooldir"
)

// wrkResult is what one wrk round measured.
type wrkResult struct {
	requests  float64
	perSecond float64
	p50, p99  time.Duration
}

// BenchmarkLoadDirectVsProxy runs wrk on loopback against kube-apiserver directly and through
// the proxy (run in this process) with the same OIDC token and request, in alternating rounds,
// and reports both throughputs, their ratio, the latency the proxy adds and the proxy's CPU
// seconds per 1,000 requests. Run it with -benchtime=1x; it needs wrk on PATH.
//
// The headline proxy figures use GOMAXPROCS=1, which is what the Helm chart gives the proxy for
// its default CPU request; the "-2procs" ones let the Go scheduler use both cores. The
// direct-impersonated round sends the proxy's impersonation headers straight to the API server:
// its ratio to direct is the ceiling a proxy that cost nothing would reach.
func BenchmarkLoadDirectVsProxy(b *testing.B) {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		tooldir.Missing(b, "wrk is not installed (apt-get install wrk)")
	}
	iss := oidctest.New(b)
	cluster := kubetest.StartWith(b, kubetest.Options{APIServerFlags: map[string]string{
		"oidc-issuer-url": iss.URL, "oidc-client-id": "kubernetes", "oidc-ca-file": iss.CAFile,
		"oidc-username-prefix": "oidc:", "oidc-groups-claim": "groups", "oidc-groups-prefix": "oidc:",
	}})
	benchSetup(b, cluster)
	apiserver := strings.TrimSuffix(cluster.Admin.Host, "/")
	// In a cluster the proxy speaks for itself with its service-account token, which
	// kube-apiserver caches, not with envtest's client certificate, whose chain it verifies anew
	// on every request.
	impersonating := serviceAccountToken(b, cluster, "default", "bench-impersonator", kubetest.ProxyUser)
	flags := oidcFlags(iss, "oidc:")
	flags = flags[:len(flags)-1]                            // no required claim: the API server does not require one either
	flags = append(flags, "--readiness-check-interval=10s") // the default, not the tests' 100ms
	// Every log line costs a write(2), as it does to a container's stderr.
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = devNull.Close() })
	p := startProxyLogging(b, devNull, writeKubeconfig(b, apiserver, cluster.Admin.CAData, impersonating), flags...).URL
	claims := iss.Claims("alice", "kubernetes", time.Hour)
	claims["groups"] = []string{"devs"}
	token := iss.Sign(b, claims)
	path := "/api/v1/namespaces/default/configmaps"
	poll.Until(b, 30*time.Second, func() bool { // kube-apiserver loads the issuer in the background
		return directStatus(b, cluster, apiserver+path, token) == http.StatusOK
	})
	direct := wrkTarget{url: apiserver + path, headers: []string{"Authorization: Bearer " + token}}
	impersonated := wrkTarget{url: apiserver + path, headers: []string{"Authorization: Bearer " + impersonating,
		"Impersonate-User: oidc:alice", "Impersonate-Group: oidc:devs", "Impersonate-Extra-aksoidc.io%2fclient-ip: 127.0.0.1"}}
	proxied := wrkTarget{url: p + path, headers: direct.headers}
	var r benchRounds
	for b.Loop() {
		for range 3 {
			r.add("direct", runWrk(b, wrk, 16, direct))
			r.add("impersonated", runWrk(b, wrk, 16, impersonated))
			r.addProxied(b, "proxy", 1, func() wrkResult { return runWrk(b, wrk, 16, proxied) })
			r.addProxied(b, "proxy-2procs", 2, func() wrkResult { return runWrk(b, wrk, 16, proxied) })
		}
		r.add("direct-1conn", runWrk(b, wrk, 1, direct))
		r.addProxied(b, "proxy-1conn", 1, func() wrkResult { return runWrk(b, wrk, 1, proxied) })
	}
	r.report(b)
}

// benchRounds collects wrk rounds by name, and the proxy's CPU time for the proxied ones.
type benchRounds struct {
	results map[string][]wrkResult
	cpu     map[string]time.Duration
}

func (r *benchRounds) add(name string, res wrkResult) {
	if r.results == nil {
		r.results, r.cpu = map[string][]wrkResult{}, map[string]time.Duration{}
	}
	r.results[name] = append(r.results[name], res)
}

// addProxied runs one round through the proxy with the Go scheduler limited to procs threads.
func (r *benchRounds) addProxied(b *testing.B, name string, procs int, round func() wrkResult) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
	before := processCPU(b)
	r.add(name, round())
	r.cpu[name] += processCPU(b) - before
}

func (r *benchRounds) report(b *testing.B) {
	d, imp := sum(r.results["direct"]), sum(r.results["impersonated"])
	b.ReportMetric(d.perSecond, "direct-req/s")
	b.ReportMetric(imp.perSecond, "direct-impersonated-req/s")
	b.ReportMetric(imp.perSecond/d.perSecond, "ceiling-ratio")
	for _, name := range []string{"proxy", "proxy-2procs"} {
		q := sum(r.results[name])
		suffix := strings.TrimPrefix(name, "proxy")
		b.ReportMetric(q.perSecond, "proxy-req/s"+suffix)
		b.ReportMetric(q.perSecond/d.perSecond, "ratio"+suffix)
		b.ReportMetric(r.cpu[name].Seconds()/(q.requests/1000), "proxy-CPU-s/1k-req"+suffix)
		b.ReportMetric(float64(q.p50-d.p50)/float64(time.Millisecond), "added-p50-ms"+suffix)
		b.ReportMetric(float64(q.p99-d.p99)/float64(time.Millisecond), "added-p99-ms"+suffix)
	}
	d1, q1 := sum(r.results["direct-1conn"]), sum(r.results["proxy-1conn"])
	b.ReportMetric(float64(q1.p50-d1.p50)/float64(time.Millisecond), "added-p50-ms-1conn")
}

func benchSetup(b *testing.B, cluster *kubetest.Cluster) {
	ctx := b.Context()
	for i := range 5 {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("bench-%d", i)}, Data: map[string]string{"k": strings.Repeat("v", 200)}}
		if _, err := cluster.AdminClient.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "bench-reader"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"list"}}}}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "bench-reader"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "bench-reader"},
		Subjects: []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "Group", Name: "oidc:devs"}}}
	cluster.Apply(b, role, binding)
}

// wrkTarget is a URL and the request headers to send it.
type wrkTarget struct {
	url     string
	headers []string
}

// runWrk runs one 5-second round of the given number of connections and parses wrk's report.
func runWrk(b *testing.B, wrk string, connections int, target wrkTarget) wrkResult {
	b.Helper()
	threads := min(connections, 2)
	args := []string{fmt.Sprintf("-t%d", threads), fmt.Sprintf("-c%d", connections), "-d5s", "--latency"}
	for _, h := range target.headers {
		args = append(args, "-H", h)
	}
	cmd := exec.CommandContext(b.Context(), wrk, append(args, target.url)...)
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("wrk: %v", err)
	}
	var r wrkResult
	s := bufio.NewScanner(strings.NewReader(string(out)))
	for s.Scan() {
		f := strings.Fields(s.Text())
		switch {
		case len(f) == 2 && f[0] == "50%":
			r.p50 = parseLatency(b, f[1])
		case len(f) == 2 && f[0] == "99%":
			r.p99 = parseLatency(b, f[1])
		case len(f) >= 3 && f[1] == "requests" && f[2] == "in":
			r.requests, _ = strconv.ParseFloat(f[0], 64)
		case len(f) == 2 && f[0] == "Requests/sec:":
			r.perSecond, _ = strconv.ParseFloat(f[1], 64)
		case len(f) > 0 && f[0] == "Non-2xx":
			b.Fatalf("%s: non-2xx responses:\n%s", target.url, out)
		}
	}
	if r.requests == 0 || r.p50 == 0 {
		b.Fatalf("cannot read wrk's report:\n%s", out)
	}
	return r
}

func parseLatency(b *testing.B, s string) time.Duration {
	b.Helper()
	d, err := time.ParseDuration(strings.Replace(s, "us", "µs", 1))
	if err != nil {
		b.Fatalf("wrk latency %q: %v", s, err)
	}
	return d
}

// processCPU is the user and system CPU time of this process so far.
func processCPU(b *testing.B) time.Duration {
	b.Helper()
	data, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ is 100 on Linux
}

// sum averages throughput and latency over rounds and adds up requests.
func sum(rounds []wrkResult) wrkResult {
	var s wrkResult
	for _, r := range rounds {
		s.requests += r.requests
		s.perSecond += r.perSecond / float64(len(rounds))
		s.p50 += r.p50 / time.Duration(len(rounds))
		s.p99 += r.p99 / time.Duration(len(rounds))
	}
	return s
}

func directStatus(b *testing.B, cluster *kubetest.Cluster, url, token string) int {
	req, _ := http.NewRequestWithContext(b.Context(), http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: testpki.ClientConfig(b, cluster.Admin.CAData)}}).Do(req)
	if err != nil {
		return 0
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}
