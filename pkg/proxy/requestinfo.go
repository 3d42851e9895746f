package proxy

import (
	"context"
	"net/http"
	"strings"

	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/server/filters"
	"k8s.io/streaming/pkg/httpstream"
)

// k8s.io/apiserver's RequestInfoFactory and BasicLongRunningRequestCheck still take the
// deprecated sets.String.
//
//nolint:staticcheck // SA1019: the apiserver API requires sets.String
var (
	requestInfoFactory = &request.RequestInfoFactory{
		APIPrefixes:          sets.String(sets.New("api", "apis")),
		GrouplessAPIPrefixes: sets.String(sets.New("api")),
	}
	// The same verbs and subresources kube-apiserver treats as long-running.
	longRunningCheck = filters.BasicLongRunningRequestCheck(
		sets.String(sets.New("watch", "proxy")),
		sets.String(sets.New("attach", "exec", "proxy", "log", "portforward")),
	)
	// metricVerbs bounds the verb label: anything else a client sends counts as "other".
	metricVerbs = sets.New("get", "list", "watch", "create", "update", "patch", "delete",
		"deletecollection", "proxy", "connect", "head", "options", "post", "put")
)

// requestState is what the middleware learn about a request, for the access log and metrics.
type requestState struct {
	verb     string
	path     string
	clientIP string
	user     string
	groups   []string
	// impersonatedUser and impersonatedGroups are whom the user acts as (kubectl --as).
	impersonatedUser   string
	impersonatedGroups []string
	// reviews are the results of the SubjectAccessReviews an impersonation took ("allowed",
	// "denied", "error"; answers from the cache are not reviews), reviewErr why one failed.
	reviews     []string
	reviewErr   error
	longRunning bool
	passthrough bool
	// reason is why the proxy refused the request itself (an authn.Reason), "" otherwise.
	reason string
	// auditID names the request in the proxy's access log, to the client and in the API
	// server's audit log.
	auditID string
}

type stateKey struct{}

func stateFrom(ctx context.Context) *requestState {
	s, _ := ctx.Value(stateKey{}).(*requestState)
	if s == nil {
		return &requestState{}
	}
	return s
}

func newRequestState(r *http.Request) *requestState {
	s := &requestState{verb: strings.ToLower(r.Method), path: r.URL.Path}
	info, err := requestInfoFactory.NewRequestInfo(r)
	if err == nil {
		if info.Verb != "" {
			s.verb = info.Verb
		}
		s.longRunning = longRunningCheck(r, info)
	}
	if httpstream.IsUpgradeRequest(r) {
		s.longRunning = true
	}
	if !metricVerbs.Has(s.verb) {
		s.verb = "other"
	}
	return s
}
