package proxy_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/aksoidc/aksoidc/test/poll"
)

// accessLogAuditIDs returns the auditID of every access-log line, in order.
func accessLogAuditIDs(logs string) []string {
	var ids []string
	for line := range strings.Lines(logs) {
		var l struct{ Msg, AuditID string }
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "request" {
			ids = append(ids, l.AuditID)
		}
	}
	return ids
}

// TestEveryRequestGetsOneAuditID: the proxy names every request with a UUID of its own, sent
// upstream as Audit-ID (kube-apiserver's audit event then carries it), returned to the client
// and written in the access log; a client's own Audit-ID never goes through.
func TestEveryRequestGetsOneAuditID(t *testing.T) {
	up := newRecordingUpstream(t, nil)
	p := newTestProxy(t, up, proxyOptions{})
	tests := []struct {
		name      string
		header    http.Header
		forwarded bool
	}{
		{"forwarded", http.Header{"Authorization": {"Bearer " + p.token(t, "alice")}}, true},
		{"forwarded, with the client's own Audit-ID", http.Header{"Authorization": {"Bearer " + p.token(t, "alice")}, "Audit-Id": {"chosen-by-client"}}, true},
		{"refused by the proxy", http.Header{"Authorization": {"Bearer junk"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(up.received())
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, p.URL+"/api/v1/pods", nil)
			for k, v := range tt.header {
				req.Header[k] = v
			}
			resp, err := p.Client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			got := resp.Header.Values("Audit-Id")
			if len(got) != 1 || uuid.Validate(got[0]) != nil {
				t.Fatalf("Audit-Id in the response = %q, want one UUID", got)
			}
			// The access-log line is written once the handler returns, maybe after the answer.
			poll.Until(t, 20*time.Second, func() bool { return slices.Contains(accessLogAuditIDs(p.Logs.String()), got[0]) })
			received := up.received()[before:]
			switch {
			case !tt.forwarded && len(received) != 0:
				t.Errorf("upstream received %d requests, want none", len(received))
			case tt.forwarded && (len(received) != 1 || len(received[0].Values("Audit-Id")) != 1 || received[0].Get("Audit-Id") != got[0]):
				t.Errorf("upstream Audit-Id = %q, want exactly %s", received[0].Values("Audit-Id"), got[0])
			}
		})
	}
}
