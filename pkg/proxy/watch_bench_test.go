package proxy_test

import (
	"bufio"
	"net/http"
	"testing"
	"time"
)

// BenchmarkWatchEventLatency measures how long a watch event takes from the API server's flush
// to the client's read through the proxy (HTTP/2 both ways), as ms/event: the figure the
// watch tests print instead of asserting.
func BenchmarkWatchEventLatency(b *testing.B) {
	up, events := watchUpstream(b)
	p := newTestProxy(b, up, proxyOptions{})
	req, _ := http.NewRequestWithContext(b.Context(), http.MethodGet, p.URL+"/api/v1/pods?watch=true", nil)
	req.Header.Set("Authorization", "Bearer "+p.token(b, "alice"))
	resp, err := p.Client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	r := bufio.NewReader(resp.Body)
	var total time.Duration
	b.ResetTimer()
	for b.Loop() {
		sent := time.Now()
		events <- "{\"type\":\"MODIFIED\"}\n"
		if _, err := r.ReadString('\n'); err != nil {
			b.Fatal(err)
		}
		total += time.Since(sent)
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/event")
}
