package main

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aksoidc/aksoidc/test/kubetest"
	"github.com/aksoidc/aksoidc/test/oidctest"
	"github.com/aksoidc/aksoidc/test/poll"
	"github.com/aksoidc/aksoidc/test/testpki"
)

// reviewsAudited counts the TokenReviews the proxy created, as the API server's audit log says.
func reviewsAudited(t *testing.T, cluster *kubetest.Cluster) int {
	t.Helper()
	n := 0
	for _, e := range auditEvents(t, cluster, "aksoidc-proxy") {
		if e.RequestURI == "/apis/authentication.k8s.io/v1/tokenreviews" {
			n++
		}
	}
	return n
}

// forgedServiceAccountToken is shaped like the API server's own tokens, but its signature is not.
func forgedServiceAccountToken(sub string) string {
	seg := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	return seg(`{"alg":"RS256","kid":"forged"}`) + "." + seg(`{"iss":"https://kubernetes.default.svc.cluster.local","sub":"`+sub+`"}`) + "." + seg("forged")
}

// TestTokenPassthroughAgainstKubeAPIServer: with --token-passthrough, a service account's
// requests cost one TokenReview (the cache answers the rest), junk and the issuer's own
// refused tokens never cost one (the API server's audit log shows none), and a flood of
// forged service-account tokens is refused without disturbing a service account the cache knows.
func TestTokenPassthroughAgainstKubeAPIServer(t *testing.T) {
	// A cluster of its own: other tests' proxies review tokens too.
	cluster := kubetest.StartWith(t, kubetest.Options{AuditLog: true})
	setupTeams(t, cluster)
	iss := oidctest.New(t)
	p := startProxy(t, cluster.ProxyKubeconfig, append(oidcFlags(iss, "oidc:"), "--token-passthrough", "--upstream-qps=1", "--upstream-burst=1")...)
	bearer := func(token string) http.Header { return http.Header{"Authorization": {"Bearer " + token}} }

	sa := serviceAccountToken(t, cluster, "team-a", "ci", "")
	const again = 20 // more than --upstream-qps allows: a review each would be refused
	saCodes := map[int]int{}
	for range 1 + again {
		saCodes[status(t, p, bearer(sa))]++
	}
	if diff := cmp.Diff(map[int]int{http.StatusOK: 1 + again}, saCodes); diff != "" {
		t.Fatalf("service-account token, status codes (-want +got):\n%s", diff)
	}
	// The marker below proves these requests cost one review: the TokenReview cache answered.

	junk := []string{"garbage", "abcdef.0123456789abcdef", "eyJhbGciOiJSUzI1NiJ9.not-json.c2ln", forgedServiceAccountToken("x") + "." + "y",
		aliceToken(t, iss, func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() }),
		aliceToken(t, iss, func(c map[string]any) { c["aud"] = "another-cluster" }),
		iss.SignMode(t, oidctest.None, map[string]any{"iss": iss.URL, "sub": "alice", "aud": "kubernetes", "tenant": "t1"})}
	codes := map[int]int{}
	for i := range 420 {
		codes[status(t, p, bearer(fmt.Sprintf("%s%d", junk[i%len(junk)], i/len(junk))))]++
	}
	// One forged token of the right shape is reviewed: once its review is in the log, so would be
	// any the junk had caused.
	codes[status(t, p, bearer(forgedServiceAccountToken("marker")))]++
	poll.Until(t, 20*time.Second, func() bool { return reviewsAudited(t, cluster) >= 2 })
	if diff := cmp.Diff(map[int]int{http.StatusUnauthorized: 421}, codes); diff != "" {
		t.Errorf("status codes (-want +got):\n%s", diff)
	}
	if n := reviewsAudited(t, cluster); n != 2 {
		t.Errorf("the API server audited %d TokenReviews, want 2 (one for the service account's %d requests, one for the marker)", n, 1+again)
	}
	testPassthroughFlood(t, cluster, p)
}

// testPassthroughFlood sends 100 distinct forged tokens at once, and with them 100 requests of a
// service account whose token the TokenReview cache knows.
func testPassthroughFlood(t *testing.T, cluster *kubetest.Cluster, p *runningProxy) {
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: testpki.ClientConfig(t, p.CA.PEM)}}
	get := func(token string) string {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, p.URL+"/api/v1/namespaces/team-a/pods", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			return err.Error()
		}
		_ = resp.Body.Close()
		return resp.Status
	}
	sa := serviceAccountToken(t, cluster, "team-a", "ci", "")
	if got := get(sa); got != "200 OK" {
		t.Fatalf("service account before the flood: %s", got)
	}
	const flood = 100
	var mu sync.Mutex
	got := map[string]int{}
	count := func(what string) { mu.Lock(); got[what]++; mu.Unlock() }
	var wg sync.WaitGroup
	for i := range flood {
		wg.Go(func() { count("forged: " + get(forgedServiceAccountToken(fmt.Sprint("flood-", i)))) })
		wg.Go(func() { count("service account: " + get(sa)) })
	}
	wg.Wait()
	if diff := cmp.Diff(map[string]int{"forged: 401 Unauthorized": flood, "service account: 200 OK": flood}, got); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	if n := p.metric(t, `aksoidc_proxy_authentication_failures_total{reason="unavailable"}`); n == 0 {
		t.Errorf("no TokenReview was refused by the limit during the flood")
	}
}
