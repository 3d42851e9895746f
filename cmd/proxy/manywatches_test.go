package main

import (
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/aksoidc/aksoidc/test/kubetest"
	"github.com/aksoidc/aksoidc/test/oidctest"
)

// manyWatches is more watches than one HTTP/2 connection may carry at once (Go's servers
// allow 250 streams), as a dashboard or several k9s sessions hold.
const manyWatches = 300

// testManyWatches opens manyWatches watches through the proxy with one client and wants each
// to see the same change: none may queue behind a full connection, at the proxy or upstream.
func testManyWatches(t *testing.T, cluster *kubetest.Cluster, iss *oidctest.Issuer) {
	ctx := t.Context()
	p := startProxy(t, cluster.ProxyKubeconfig, oidcFlags(iss, "oidc:")...)
	alice := p.client(t, aliceToken(t, iss, nil))
	watchers := make([]watch.Interface, manyWatches)
	for i := range watchers {
		w, err := alice.CoreV1().ConfigMaps("team-a").Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=many-watches"})
		if err != nil {
			t.Fatalf("watch %d through the proxy: %v", i, err)
		}
		t.Cleanup(w.Stop)
		watchers[i] = w
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "many-watches"}}
	if _, err := cluster.AdminClient.CoreV1().ConfigMaps("team-a").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var missed []int
	var wg sync.WaitGroup
	for i, w := range watchers {
		wg.Go(func() {
			select {
			case e := <-w.ResultChan():
				if e.Type == watch.Added {
					return
				}
			case <-time.After(20 * time.Second):
			}
			mu.Lock()
			missed = append(missed, i)
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(missed) > 0 {
		t.Errorf("%d of %d watches saw no ADDED event within 20s (e.g. watch %d)", len(missed), manyWatches, missed[0])
	}
	if got := p.metric(t, "aksoidc_proxy_long_running_requests_in_flight"); got != manyWatches {
		t.Errorf("long-running requests in flight = %v, want %d", got, manyWatches)
	}
}
