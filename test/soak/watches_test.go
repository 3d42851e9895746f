package soak

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestWatches opens SOAK_WATCHES idle watches (200; 5,000 under SOAK=1) through one proxy over
// SOAK_WATCH_CONNECTIONS HTTP/2 connections (4; 25), makes one change and wants every watch to
// see it. It prints the proxy's resident memory and goroutines, idle and at their peak.
func TestWatches(t *testing.T) {
	n := knob(t, "SOAK_WATCHES", 200, 5000)
	conns := knob(t, "SOAK_WATCH_CONNECTIONS", 4, 25)
	e := newEnv(t)
	p := startProxy(t, e.cluster.ProxyKubeconfig, e.iss)
	token := e.token(t, "alice", time.Hour)
	start := p.usage(t)
	events := openWatches(t, p, token, n, conns)
	idle := p.usage(t)
	p.saveProfiles(t, fmt.Sprintf("watches-%d", n))
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "watched"}}
	changed := time.Now()
	if _, err := e.cluster.AdminClient.CoreV1().ConfigMaps(namespace).Create(t.Context(), cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	delays := make([]time.Duration, 0, n)
	for range n {
		select {
		case at := <-events:
			delays = append(delays, at.Sub(changed))
		case <-time.After(2 * time.Minute):
			t.Fatalf("%d of %d watches saw the change; the others nothing for 2 minutes", len(delays), n)
		}
	}
	after := p.usage(t)
	slices.Sort(delays)
	report(t, "watches", "watches", n, "client-connections", conns,
		"start", "{"+start.String()+"}", "idle", "{"+idle.String()+"}", "after-event", "{"+after.String()+"}",
		"KiB/watch", (idle.RSSKiB-start.RSSKiB)/n, "peak-KiB/watch", (after.PeakRSSKiB-start.RSSKiB)/n,
		"goroutines/watch", fmt.Sprintf("%.1f", float64(idle.Goroutines-start.Goroutines)/float64(n)),
		"event-delay-p50", delays[len(delays)/2].Round(time.Millisecond), "event-delay-max", delays[len(delays)-1].Round(time.Millisecond))
}

// openWatches opens n watches of the ConfigMap "watched", spread over conns client
// connections, and returns a channel that receives the time each one's first event arrived:
// which must be ADDED.
func openWatches(t *testing.T, p *proxyProc, token string, n, conns int) <-chan time.Time {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	events := make(chan time.Time, n)
	var stop sync.WaitGroup
	t.Cleanup(func() { cancel(); stop.Wait() })
	clients := make([]*http.Client, conns)
	for i := range clients {
		tr := p.transport(t)
		t.Cleanup(tr.CloseIdleConnections)
		clients[i] = &http.Client{Transport: tr}
	}
	url := p.URL + "/api/v1/namespaces/" + namespace + "/configmaps?watch=true&fieldSelector=metadata.name%3Dwatched"
	sem := make(chan struct{}, 32)
	var opened sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		sem <- struct{}{}
		opened.Add(1)
		stop.Go(func() {
			resp, err := watch(ctx, clients[i%conns], url, token)
			<-sem
			opened.Done()
			if err != nil {
				errs <- fmt.Errorf("watch %d: %w", i, err)
				return
			}
			defer func() { _ = resp.Body.Close() }()
			var e struct{ Type string }
			if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || e.Type != "ADDED" {
				if ctx.Err() == nil {
					errs <- fmt.Errorf("watch %d: first event %q, %v", i, e.Type, err)
				}
				return
			}
			events <- time.Now()
			<-ctx.Done()
		})
	}
	opened.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	return events
}

func watch(ctx context.Context, c *http.Client, url, token string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		_ = resp.Body.Close()
		return nil, fmt.Errorf("%s", resp.Status)
	}
	return resp, nil
}
