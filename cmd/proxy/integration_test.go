package main

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/aksoidc/aksoidc/test/kubetest"
	"github.com/aksoidc/aksoidc/test/oidctest"
	"github.com/aksoidc/aksoidc/test/poll"
	"github.com/aksoidc/aksoidc/test/testpki"
)

// setupTeams creates namespaces team-a and team-b; group oidc:devs may read pods and config
// maps in team-a only.
func setupTeams(t *testing.T, c *kubetest.Cluster) {
	t.Helper()
	ctx := t.Context()
	for _, ns := range []string{"team-a", "team-b"} {
		if _, err := c.AdminClient.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "devs", Namespace: "team-a"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods", "configmaps"}, Verbs: []string{"get", "list", "watch"}}},
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "devs", Namespace: "team-a"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "devs"},
		Subjects: []rbacv1.Subject{
			{APIGroup: "rbac.authorization.k8s.io", Kind: "Group", Name: "oidc:devs"},
			{Kind: "ServiceAccount", Name: "ci", Namespace: "team-a"},
		},
	}
	if _, err := c.AdminClient.RbacV1().Roles("team-a").Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AdminClient.RbacV1().RoleBindings("team-a").Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// oidcFlags configures iss with prefix for usernames and groups; "" for none.
func oidcFlags(iss *oidctest.Issuer, prefix string) []string {
	usernamePrefix := prefix
	if prefix == "" {
		usernamePrefix = "-" // kube-apiserver's way to say none
	}
	return []string{
		"--oidc-issuer-url=" + iss.URL, "--oidc-client-id=kubernetes", "--oidc-ca-file=" + iss.CAFile,
		"--oidc-username-prefix=" + usernamePrefix, "--oidc-groups-claim=groups", "--oidc-groups-prefix=" + prefix,
		"--oidc-required-claim=tenant=t1",
	}
}

func TestAgainstKubeAPIServer(t *testing.T) {
	cluster := kubetest.StartWith(t, kubetest.Options{AuditLog: true})
	setupTeams(t, cluster)
	iss := oidctest.New(t)
	p := startProxy(t, cluster.ProxyKubeconfig, append(oidcFlags(iss, "oidc:"), "--request-timeout=5s")...)

	t.Run("RBAC of the real API server decides for alice", func(t *testing.T) {
		t.Parallel()
		testRBAC(t, p, iss)
	})
	t.Run("kubectl auth whoami shows the impersonated identity", func(t *testing.T) {
		t.Parallel()
		testWhoami(t, cluster, p, iss)
	})
	t.Run("a real Dex login: RBAC and whoami", func(t *testing.T) {
		t.Parallel()
		testDex(t, cluster)
	})
	// These two count forwarded requests, so each has a proxy of its own.
	t.Run("bad tokens get 401 and nothing is forwarded", func(t *testing.T) {
		t.Parallel()
		testBadTokens(t, cluster, startProxy(t, cluster.ProxyKubeconfig, oidcFlags(iss, "oidc:")...), iss)
	})
	t.Run("identities a header writer would change get 401 and never reach the API server", func(t *testing.T) {
		t.Parallel()
		testWireAttacks(t, cluster, iss)
	})
	t.Run("one audit ID joins the client, the proxy's log and the audit log", func(t *testing.T) {
		t.Parallel()
		testAuditID(t, cluster, p, iss)
	})
	t.Run("with --nested-impersonation=false client impersonation gets 403 and nothing is forwarded", func(t *testing.T) {
		t.Parallel()
		testClientImpersonation(t, startProxy(t, cluster.ProxyKubeconfig, append(oidcFlags(iss, "oidc:"), "--nested-impersonation=false")...), iss)
	})
	t.Run("watch delivers events at once and stays open for 2 minutes", func(t *testing.T) {
		t.Parallel()
		testLongWatch(t, cluster, p, iss)
	})
	t.Run("no token reaches the log at --log-level=debug", func(t *testing.T) {
		t.Parallel()
		testLogsHoldNoSecrets(t, cluster, iss)
	})
	t.Run("300 watches at once all deliver", func(t *testing.T) {
		t.Parallel()
		testManyWatches(t, cluster, iss)
	})
	t.Run("token passthrough with a real service-account token", func(t *testing.T) {
		t.Parallel()
		testPassthrough(t, cluster, p, iss)
	})
	t.Run("authentication config with two issuers, CEL and reload", func(t *testing.T) {
		t.Parallel()
		testAuthenticationConfig(t, cluster)
	})
	t.Run("serving certificate rotates without a restart", func(t *testing.T) {
		t.Parallel()
		testCertificateRotation(t, cluster, iss)
	})
	t.Run("shutdown ends an in-flight watch cleanly", func(t *testing.T) {
		t.Parallel()
		testShutdown(t, cluster, iss)
	})
}

func testRBAC(t *testing.T, p *runningProxy, iss *oidctest.Issuer) {
	checkTeams(t, p, aliceToken(t, iss, nil), "oidc:alice")
}

// checkTeams wants the token's user, through the proxy, to list pods in team-a and be
// forbidden in team-b.
func checkTeams(t *testing.T, p *runningProxy, token, username string) {
	t.Helper()
	c := p.client(t, token)
	_, errA := c.CoreV1().Pods("team-a").List(t.Context(), metav1.ListOptions{})
	_, errB := c.CoreV1().Pods("team-b").List(t.Context(), metav1.ListOptions{})
	got := []string{"<nil>", "<nil>"}
	for i, err := range []error{errA, errB} {
		if err != nil {
			got[i] = err.Error()
		}
	}
	want := []string{"<nil>", `pods is forbidden: User "` + username + `" cannot list resource "pods" in API group "" in the namespace "team-b"`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("team-a, team-b (-want +got):\n%s", diff)
	}
}

func writeKubeconfig(t testing.TB, server string, ca []byte, token string) string {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["proxy"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
	cfg.AuthInfos["user"] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["proxy"] = &clientcmdapi.Context{Cluster: "proxy", AuthInfo: "user"}
	cfg.CurrentContext = "proxy"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func testWhoami(t *testing.T, cluster *kubetest.Cluster, p *runningProxy, iss *oidctest.Issuer) {
	want := "ATTRIBUTE                     VALUE\n" +
		"Username                      oidc:alice\n" +
		"Groups                        [oidc:devs system:authenticated]\n" +
		"Extra: aksoidc.io/client-ip   [127.0.0.1]\n"
	if diff := cmp.Diff(want, kubectlWhoami(t, cluster, p, aliceToken(t, iss, nil))); diff != "" {
		t.Errorf("kubectl auth whoami (-want +got):\n%s", diff)
	}
}

// kubectlWhoami is what the pinned kubectl's `auth whoami` prints through the proxy.
func kubectlWhoami(t *testing.T, cluster *kubetest.Cluster, p *runningProxy, token string) string {
	t.Helper()
	kubeconfig := writeKubeconfig(t, p.URL, p.CA.PEM, token)
	cmd := exec.CommandContext(t.Context(), cluster.KubectlPath, "--kubeconfig", kubeconfig, "auth", "whoami")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl auth whoami: %v\n%s", err, out)
	}
	return string(out)
}

func status(t *testing.T, p *runningProxy, header http.Header) int {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, p.URL+"/api/v1/namespaces/team-a/pods", nil)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: testpki.ClientConfig(t, p.CA.PEM)}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

func testBadTokens(t *testing.T, cluster *kubetest.Cluster, p *runningProxy, iss *oidctest.Issuer) {
	other := oidctest.New(t)
	unprefixed := startProxy(t, cluster.ProxyKubeconfig, oidcFlags(iss, "")...)
	tests := []struct {
		name  string
		proxy *runningProxy
		token string
	}{
		{"expired", p, aliceToken(t, iss, func(c map[string]any) { c["exp"] = time.Now().Add(-2 * time.Minute).Unix() })},
		{"not yet valid", p, aliceToken(t, iss, func(c map[string]any) { c["nbf"] = time.Now().Add(time.Hour).Unix() })},
		{"wrong issuer", p, aliceToken(t, other, nil)},
		{"wrong audience", p, aliceToken(t, iss, func(c map[string]any) { c["aud"] = "another-cluster" })},
		{"unknown key", p, iss.SignMode(t, oidctest.UnknownKey, map[string]any{"iss": iss.URL, "sub": "alice", "aud": "kubernetes", "tenant": "t1", "exp": time.Now().Add(time.Hour).Unix()})},
		{"alg none", p, iss.SignMode(t, oidctest.None, map[string]any{"iss": iss.URL, "sub": "alice", "aud": "kubernetes", "tenant": "t1", "exp": time.Now().Add(time.Hour).Unix()})},
		{"HS256 signed with the public key", p, iss.SignMode(t, oidctest.HS256WithPublicKey, map[string]any{"iss": iss.URL, "sub": "alice", "aud": "kubernetes", "tenant": "t1", "exp": time.Now().Add(time.Hour).Unix()})},
		{"required claim missing", p, aliceToken(t, iss, func(c map[string]any) { delete(c, "tenant") })},
		{"system:masters group", unprefixed, aliceToken(t, iss, func(c map[string]any) { c["groups"] = []string{"devs", "system:masters"} })},
		{"system: username", unprefixed, aliceToken(t, iss, func(c map[string]any) { c["sub"] = "system:admin" })},
		{"malformed JWT", p, "eyJhbGciOiJSUzI1NiJ9.not-json.c2ln"},
		{"empty bearer", p, ""},
	}
	for _, proxy := range []*runningProxy{p, unprefixed} { // so that the forwarded count exists
		if code := status(t, proxy, http.Header{"Authorization": {"Bearer " + aliceToken(t, iss, nil)}}); code == http.StatusUnauthorized {
			t.Fatalf("a good token got %d", code)
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const forwarded = `aksoidc_proxy_upstream_duration_seconds_count{verb="list"}`
			before := tt.proxy.metric(t, forwarded)
			if before == 0 {
				t.Fatalf("%s is missing from /metrics", forwarded)
			}
			code := status(t, tt.proxy, http.Header{"Authorization": {"Bearer " + tt.token}})
			after := tt.proxy.metric(t, forwarded)
			if code != http.StatusUnauthorized || after != before {
				t.Errorf("status %d, upstream requests %v -> %v; want 401 and none forwarded", code, before, after)
			}
		})
	}
}

func testClientImpersonation(t *testing.T, p *runningProxy, iss *oidctest.Issuer) {
	bearer := "Bearer " + aliceToken(t, iss, nil)
	tests := []struct {
		name   string
		header http.Header
	}{
		{"Impersonate-User", http.Header{"Impersonate-User": {"admin"}}},
		{"impersonate-group", http.Header{"impersonate-group": {"system:masters"}}},
		{"Impersonate-Uid", http.Header{"Impersonate-Uid": {"0"}}},
		{"Impersonate-Extra-x, mixed case, duplicated", http.Header{"Impersonate-Extra-x": {"1"}, "IMPERSONATE-EXTRA-X": {"2", "3"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const forwarded = `aksoidc_proxy_upstream_duration_seconds_count{verb="list"}`
			if code := status(t, p, http.Header{"Authorization": {bearer}}); code != http.StatusOK {
				t.Fatalf("without impersonation: %d", code)
			}
			before := p.metric(t, forwarded)
			h := tt.header.Clone()
			h["Authorization"] = []string{bearer}
			code := status(t, p, h)
			after := p.metric(t, forwarded)
			if code != http.StatusForbidden || after != before {
				t.Errorf("status %d, upstream requests %v -> %v; want 403 and none forwarded", code, before, after)
			}
		})
	}
}

func testPassthrough(t *testing.T, cluster *kubetest.Cluster, p *runningProxy, iss *oidctest.Issuer) {
	ctx := t.Context()
	token := serviceAccountToken(t, cluster, "team-a", "ci", "")
	passthrough := startProxy(t, cluster.ProxyKubeconfig, append(oidcFlags(iss, "oidc:"), "--token-passthrough", "--upstream-qps=5", "--upstream-burst=5")...)
	sa := passthrough.client(t, token)
	review, err := sa.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("SelfSubjectReview with the service-account token: %v", err)
	}
	if diff := cmp.Diff("system:serviceaccount:team-a:ci", review.Status.UserInfo.Username); diff != "" {
		t.Errorf("identity at the API server (-want +got):\n%s", diff)
	}
	// That these cost one TokenReview is counted in the audit log by
	// TestTokenPassthroughAgainstKubeAPIServer, on a cluster no other proxy reviews tokens at.
	for range 20 {
		if _, err := sa.CoreV1().ConfigMaps("team-a").List(ctx, metav1.ListOptions{}); err != nil {
			t.Fatalf("list config maps as the service account: %v", err)
		}
	}
	alice := passthrough.client(t, aliceToken(t, iss, nil))
	if _, err := alice.CoreV1().Pods("team-a").List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("OIDC tokens still work with passthrough on: %v", err)
	}
	if code := status(t, p, http.Header{"Authorization": {"Bearer " + token}}); code != http.StatusUnauthorized {
		t.Errorf("without --token-passthrough the service-account token got %d, want 401", code)
	}
}

func testLongWatch(t *testing.T, cluster *kubetest.Cluster, p *runningProxy, iss *oidctest.Issuer) {
	ctx := t.Context()
	cms := cluster.AdminClient.CoreV1().ConfigMaps("team-a")
	cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "watched"}, Data: map[string]string{"n": "0"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	alice := p.client(t, aliceToken(t, iss, nil))
	w, err := alice.CoreV1().ConfigMaps("team-a").Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=watched", ResourceVersion: cm.ResourceVersion})
	if err != nil {
		t.Fatalf("watch through the proxy: %v", err)
	}
	defer w.Stop()
	var delays []time.Duration
	start := time.Now()
	for n := 1; time.Since(start) < 2*time.Minute; n++ {
		cm.Data["n"] = strconv.Itoa(n)
		if cm, err = cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		// The change exists once the API server has answered the update; the
		// time etcd took to store it is not the proxy's to deliver.
		changed := time.Now()
		select {
		case e, ok := <-w.ResultChan():
			if !ok {
				t.Fatalf("watch closed after %v, want it open for 2 minutes", time.Since(start))
			}
			if got := e.Object.(*corev1.ConfigMap).Data["n"]; got != strconv.Itoa(n) {
				t.Fatalf("event %d carries n=%s", n, got)
			}
			delays = append(delays, time.Since(changed))
		case <-time.After(5 * time.Second):
			t.Fatalf("no event %d within 5s", n)
		}
		time.Sleep(15 * time.Second) // pacing: one change every 15 s for 2 minutes
	}
	// Printed, not asserted: a loaded CI machine is no place for a latency bound.
	t.Logf("event delivery after each change: %v", delays)
}

func authConfig(iss1, iss2 *oidctest.Issuer, usernameExpr string) string {
	return oidctest.AuthenticationConfiguration(
		iss1.JWTAuthenticator([]string{"kubernetes"}, `  claimMappings:
    username:
      expression: `+usernameExpr+`
    groups:
      claim: groups
      prefix: "oidc:"
`),
		iss2.JWTAuthenticator([]string{"kubernetes"}, `  claimMappings:
    username:
      claim: sub
      prefix: "second:"
`))
}

func whoami(t *testing.T, p *runningProxy, token string) string {
	t.Helper()
	review, err := p.client(t, token).AuthenticationV1().SelfSubjectReviews().Create(t.Context(), &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return err.Error()
	}
	return review.Status.UserInfo.Username
}

func testAuthenticationConfig(t *testing.T, cluster *kubetest.Cluster) {
	iss1, iss2 := oidctest.New(t), oidctest.New(t)
	file := filepath.Join(t.TempDir(), "authentication.yaml")
	write := func(data string) {
		if err := os.WriteFile(file, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(authConfig(iss1, iss2, `'"cel:" + claims.sub'`))
	p := startProxy(t, cluster.ProxyKubeconfig, "--authentication-config="+file, "--authentication-config-reload-interval=100ms")
	alice, bob := aliceToken(t, iss1, nil), iss2.Sign(t, iss2.Claims("bob", "kubernetes", time.Hour))
	check := func(step string, want []string) {
		t.Helper()
		if diff := cmp.Diff(want, []string{whoami(t, p, alice), whoami(t, p, bob)}); diff != "" {
			t.Errorf("%s: identities (-want +got):\n%s", step, diff)
		}
	}
	check("at start", []string{"cel:alice", "second:bob"})
	write("apiVersion: apiserver.config.k8s.io/v1\nkind: AuthenticationConfiguration\njwt:\n- issuer: {url: " + iss1.URL + "}\n")
	poll.Until(t, 10*time.Second, func() bool { return strings.Contains(p.Logs.String(), "authentication config is invalid") })
	check("after a broken file", []string{"cel:alice", "second:bob"})
	write(authConfig(iss1, iss2, `'"renamed:" + claims.sub'`))
	poll.Until(t, 40*time.Second, func() bool { return strings.Contains(p.Logs.String(), "authentication config reloaded") })
	check("after a good file", []string{"renamed:alice", "second:bob"})
}

func servingSerial(t *testing.T, p *runningProxy) int64 {
	t.Helper()
	dialer := &tls.Dialer{Config: testpki.ClientConfig(t, p.CA.PEM)}
	conn, err := dialer.DialContext(t.Context(), "tcp", strings.TrimPrefix(p.URL, "https://"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	return conn.(*tls.Conn).ConnectionState().PeerCertificates[0].SerialNumber.Int64()
}

func testCertificateRotation(t *testing.T, cluster *kubetest.Cluster, iss *oidctest.Issuer) {
	p := startProxy(t, cluster.ProxyKubeconfig, oidcFlags(iss, "oidc:")...)
	first := servingSerial(t, p)
	second := p.CA.issue(t)
	poll.Until(t, 90*time.Second, func() bool { return servingSerial(t, p) == second })
	if first == second {
		t.Fatalf("test issued the same serial twice")
	}
	if got := whoami(t, p, aliceToken(t, iss, nil)); got != "oidc:alice" {
		t.Errorf("after rotation: %s", got)
	}
}

func testShutdown(t *testing.T, cluster *kubetest.Cluster, iss *oidctest.Issuer) {
	p := startProxy(t, cluster.ProxyKubeconfig, oidcFlags(iss, "oidc:")...)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "before-shutdown"}}
	if _, err := cluster.AdminClient.CoreV1().ConfigMaps("team-a").Create(t.Context(), cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, p.URL+"/api/v1/namespaces/team-a/configmaps?watch=true", nil)
	req.Header.Set("Authorization", "Bearer "+aliceToken(t, iss, nil))
	resp, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: testpki.ClientConfig(t, p.CA.PEM)}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("watch: %s", resp.Status)
	}
	r := bufio.NewReader(resp.Body)
	if _, err := r.ReadString('\n'); err != nil { // the initial ADDED events
		t.Fatalf("read first event: %v", err)
	}
	p.Stop() // what SIGTERM does through main's signal context
	if _, err := io.Copy(io.Discard, r); err != nil {
		t.Errorf("the watch ended with %v, want a clean end of stream", err)
	}
	select {
	case code := <-p.Exit:
		if code != 0 {
			t.Errorf("exit code %d, want 0\n%s", code, p.Logs.String())
		}
	case <-time.After(15 * time.Second):
		t.Errorf("proxy still running 15s after the signal")
	}
	p.Exit <- 0 // for the cleanup
}

// auditEvent is what the tests read of kube-apiserver's audit log.
type auditEvent struct {
	AuditID          string `json:"auditID"`
	UserAgent        string `json:"userAgent"`
	RequestURI       string `json:"requestURI"`
	ImpersonatedUser *struct {
		Username string              `json:"username"`
		Groups   []string            `json:"groups"`
		Extra    map[string][]string `json:"extra"`
	} `json:"impersonatedUser"`
}

// auditEvents returns the events of the cluster's audit log made by requests with userAgent.
func auditEvents(t *testing.T, cluster *kubetest.Cluster, userAgent string) []auditEvent {
	t.Helper()
	data, err := os.ReadFile(cluster.AuditLog)
	if err != nil {
		t.Fatalf("read the audit log: %v", err)
	}
	var events []auditEvent
	for line := range strings.Lines(string(data)) {
		var e auditEvent
		if json.Unmarshal([]byte(line), &e) == nil && e.UserAgent == userAgent {
			events = append(events, e)
		}
	}
	return events
}

// testWireAttacks sends the identities of issue 8 that a header writer would have turned into
// other ones (white space trimmed into system:masters, merged groups, an empty username) over
// the HTTP/1.1 upgrade path, where the writer trims: each gets 401, and kube-apiserver's audit
// log shows that none of them reached it, while a good request in the same run did.
func testWireAttacks(t *testing.T, cluster *kubetest.Cluster, iss *oidctest.Issuer) {
	p := startProxy(t, cluster.ProxyKubeconfig, oidcFlags(iss, "")...)
	attacks := []struct {
		name   string
		mutate func(map[string]any)
	}{
		{"leading space before system:masters", func(c map[string]any) { c["groups"] = []string{" system:masters"} }},
		{"leading tab before a system: username", func(c map[string]any) { c["sub"] = "\tsystem:kube-controller-manager" }},
		{"trailing space merges groups", func(c map[string]any) { c["groups"] = []string{"devs "} }},
		{"empty username", func(c map[string]any) { c["sub"] = "" }},
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: testpki.ClientConfig(t, p.CA.PEM),
		TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}}} // HTTP/1.1: Connection: Upgrade is allowed
	send := func(userAgent, token string) int {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, p.URL+"/api/v1/namespaces/team-a/pods", nil)
		req.Header = http.Header{"Authorization": {"Bearer " + token}, "Connection": {"Upgrade"}, "Upgrade": {"x"}, "User-Agent": {userAgent}}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	for i, a := range attacks {
		if code := send("wire-attack-"+strconv.Itoa(i), aliceToken(t, iss, a.mutate)); code != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", a.name, code)
		}
	}
	if code := send("wire-attack-control", aliceToken(t, iss, nil)); code == http.StatusUnauthorized {
		t.Fatalf("the good token got %d", code)
	}
	poll.Until(t, 30*time.Second, func() bool { return len(auditEvents(t, cluster, "wire-attack-control")) > 0 })
	for i, a := range attacks {
		if got := auditEvents(t, cluster, "wire-attack-"+strconv.Itoa(i)); len(got) != 0 {
			t.Errorf("%s reached kube-apiserver: %+v", a.name, got)
		}
	}
	if got := p.metric(t, `aksoidc_proxy_authentication_failures_total{reason="invalid_identity"}`); got != float64(len(attacks)) {
		t.Errorf("invalid_identity refusals counted: %v, want %d", got, len(attacks))
	}
}

// testAuditID: the Audit-Id the client gets back is the auditID of kube-apiserver's audit event
// for the request (with the impersonated user) and of the proxy's access-log line.
func testAuditID(t *testing.T, cluster *kubetest.Cluster, p *runningProxy, iss *oidctest.Issuer) {
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, p.URL+"/api/v1/namespaces/team-a/pods", nil)
	req.Header = http.Header{"Authorization": {"Bearer " + aliceToken(t, iss, nil)}, "User-Agent": {"audit-join"}, "Audit-Id": {"chosen-by-client"}}
	resp, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: testpki.ClientConfig(t, p.CA.PEM)}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	id := resp.Header.Get("Audit-Id")
	if resp.StatusCode != http.StatusOK || id == "" || id == "chosen-by-client" {
		t.Fatalf("status %d, Audit-Id %q: want 200 and an ID of the proxy's", resp.StatusCode, id)
	}
	poll.Until(t, 30*time.Second, func() bool { return len(auditEvents(t, cluster, "audit-join")) > 0 })
	for _, e := range auditEvents(t, cluster, "audit-join") {
		if e.AuditID != id || e.ImpersonatedUser == nil || e.ImpersonatedUser.Username != "oidc:alice" {
			t.Errorf("audit event %+v, want auditID %s impersonating oidc:alice", e, id)
		}
	}
	poll.Until(t, 30*time.Second, func() bool { return strings.Contains(p.Logs.String(), `"auditID":"`+id+`"`) })
}
