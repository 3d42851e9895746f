package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/endpoints/filters/impersonation"
	"k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/client-go/rest"

	"github.com/aksoidc/aksoidc/pkg/proxy/authn"
)

// grants is a hand-written RBAC: what each user may do, as grantKey strings. It answers both
// kube-apiserver's filter (as its authorizer) and the proxy (as SubjectAccessReviews), so the
// two can be compared on the same decisions.
type grants struct {
	allow map[string]bool
	fail  error

	mu      sync.Mutex
	reviews []authorizationv1.SubjectAccessReviewSpec
}

// grantKey is "user verb resource[/subresource] namespace name".
func grantKey(userName, verb, resource, subresource, namespace, name string) string {
	if subresource != "" {
		resource += "/" + subresource
	}
	return strings.Join([]string{userName, verb, resource, namespace, name}, " ")
}

func (g *grants) Authorize(_ context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
	if g.allow[grantKey(a.GetUser().GetName(), a.GetVerb(), a.GetResource(), a.GetSubresource(), a.GetNamespace(), a.GetName())] {
		return authorizer.DecisionAllow, "", nil
	}
	return authorizer.DecisionNoOpinion, "", nil
}

func (g *grants) Create(_ context.Context, sar *authorizationv1.SubjectAccessReview, _ metav1.CreateOptions) (*authorizationv1.SubjectAccessReview, error) {
	g.mu.Lock()
	g.reviews = append(g.reviews, sar.Spec)
	g.mu.Unlock()
	if g.fail != nil {
		return nil, g.fail
	}
	out := sar.DeepCopy()
	if ra := sar.Spec.ResourceAttributes; ra != nil {
		out.Status.Allowed = g.allow[grantKey(sar.Spec.User, ra.Verb, ra.Resource, ra.Subresource, ra.Namespace, ra.Name)]
	}
	return out, nil
}

func (g *grants) reviewCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.reviews)
}

// identities authenticates tokens "alice" (groups devs, uid 42), "dana" (whose grants are
// constrained impersonation's) and "ci" (a passthrough token).
type identities struct{}

func (identities) Authenticate(_ context.Context, token string) (authn.Identity, error) {
	switch token {
	case "alice":
		return authn.Identity{User: &user.DefaultInfo{Name: "alice", UID: "42", Groups: []string{"devs"}}}, nil
	case "dana":
		return authn.Identity{User: &user.DefaultInfo{Name: "dana", Groups: []string{"devs"}}}, nil
	case "ci":
		return authn.Identity{User: &user.DefaultInfo{Name: "system:serviceaccount:ci:bot"}, Passthrough: true}, nil
	}
	return authn.Identity{}, &authn.Error{Reason: authn.ReasonInvalidToken, Err: errors.New("unknown token")}
}

func impersonatingProxy(t *testing.T, g *grants, qps float32, burst int) (http.Handler, *captureTransport) {
	t.Helper()
	capture := &captureTransport{}
	h, err := NewHandler(Config{Authenticator: identities{}, Logger: slog.New(slog.DiscardHandler), Metrics: NewMetrics(),
		Upstream:      &rest.Config{Host: "https://upstream.invalid", BearerToken: "proxy", Transport: capture},
		Impersonation: NewImpersonationAuthorizer(g, qps, burst)})
	if err != nil {
		t.Fatal(err)
	}
	return h, capture
}

// outcome is what a client and the API server behind see of one request.
type outcome struct {
	Code    int
	Message string
	User    *user.DefaultInfo // whom the request runs as, nil when refused
}

// kubeFilter is kube-apiserver v1.37's own impersonation filter (the constrained one, its
// default), long-lived as in kube-apiserver: it remembers which mode last worked for whom,
// which decides the words of a later refusal.
type kubeFilter struct {
	filter http.Handler
	got    *user.DefaultInfo
}

func newKubeFilter(g *grants) *kubeFilter {
	k := &kubeFilter{}
	record := http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		u, _ := request.UserFrom(r.Context())
		k.got = &user.DefaultInfo{Name: u.GetName(), UID: u.GetUID(), Groups: u.GetGroups(), Extra: u.GetExtra()}
	})
	scheme := runtime.NewScheme()
	metav1.AddToGroupVersion(scheme, schema.GroupVersion{Version: "v1"})
	k.filter = impersonation.WithConstrainedImpersonation(record, g, serializer.NewCodecFactory(scheme))
	return k
}

// viaKube is the outcome with kube-apiserver's filter, the requestor authenticated.
func (k *kubeFilter) viaKube(t *testing.T, requestor *user.DefaultInfo, h http.Header) outcome {
	t.Helper()
	k.got = nil
	req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/api/v1/pods", nil)
	info, err := requestInfoFactory.NewRequestInfo(req)
	if err != nil {
		t.Fatal(err)
	}
	u := *requestor
	u.Groups = append(slices.Clone(u.Groups), user.AllAuthenticated)
	req = req.WithContext(request.WithRequestInfo(request.WithUser(req.Context(), &u), info))
	req.Header = h.Clone()
	rec := httptest.NewRecorder()
	k.filter.ServeHTTP(rec, req)
	return outcome{Code: rec.Code, Message: statusMessage(rec.Body.String()), User: k.got}
}

// viaProxy is the outcome through the proxy: the user is whom kube-apiserver's filter reads
// from the headers the proxy forwards, without the proxy's own extras, which are returned apart.
func viaProxy(t *testing.T, p http.Handler, capture *captureTransport, token string, h http.Header) (outcome, map[string][]string) {
	t.Helper()
	capture.got = nil
	req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/api/v1/pods", nil)
	req.Header = h.Clone()
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, req)
	o := outcome{Code: rec.Code, Message: statusMessage(rec.Body.String())}
	if capture.got == nil {
		return o, nil
	}
	o.User = readImpersonation(t, http1RoundTrip(t, capture.got.Header))
	own := map[string][]string{}
	for k, v := range o.User.Extra {
		if strings.HasPrefix(k, authn.ReservedExtraPrefix) {
			own[k] = v
			delete(o.User.Extra, k)
		}
	}
	return o, own
}

func statusMessage(body string) string {
	var s metav1.Status
	if json.Unmarshal([]byte(body), &s) != nil {
		return ""
	}
	return s.Message
}

// aliceGrants are legacy grants (verb impersonate) for alice; dana has constrained
// impersonation's: bob through the user-info mode and team-a's deployer through the
// serviceaccount mode, each only to list pods.
var aliceGrants = map[string]bool{
	grantKey("alice", "impersonate", "users", "", "", "bob"):                                    true,
	grantKey("alice", "impersonate", "groups", "", "", "ops"):                                   true,
	grantKey("alice", "impersonate", "serviceaccounts", "", "team-a", "deployer"):               true,
	grantKey("alice", "impersonate", "uids", "", "", "1234"):                                    true,
	grantKey("alice", "impersonate", "userextras", "example.com/team", "", "blue"):              true,
	grantKey("alice", "impersonate", "userextras", "aksoidc.io/original-username", "", "x"):     true,
	grantKey("dana", "impersonate:user-info", "users", "", "", "bob"):                           true,
	grantKey("dana", "impersonate-on:user-info:list", "pods", "", "", ""):                       true,
	grantKey("dana", "impersonate:serviceaccount", "serviceaccounts", "", "team-a", "deployer"): true,
	grantKey("dana", "impersonate-on:serviceaccount:list", "pods", "", "", ""):                  true,
}

// TestImpersonationDecidesAsKubeAPIServer: for the same grants, the proxy refuses what
// kube-apiserver's own filter refuses, with the same code and message, and forwards the same
// identity, plus the original-* extras
// naming the requestor.
func TestImpersonationDecidesAsKubeAPIServer(t *testing.T) {
	alice := &user.DefaultInfo{Name: "alice", UID: "42", Groups: []string{"devs"}}
	dana := &user.DefaultInfo{Name: "dana", Groups: []string{"devs"}}
	tests := []struct {
		name      string
		requestor *user.DefaultInfo
		header    http.Header
		want      int
	}{
		{"allowed user", alice, http.Header{"Impersonate-User": {"bob"}}, http.StatusOK},
		{"allowed user and group", alice, http.Header{"Impersonate-User": {"bob"}, "Impersonate-Group": {"ops"}}, http.StatusOK},
		{"denied user", alice, http.Header{"Impersonate-User": {"root"}}, http.StatusForbidden},
		{"denied group", alice, http.Header{"Impersonate-User": {"bob"}, "Impersonate-Group": {"system:masters"}}, http.StatusForbidden},
		{"service account gets its groups", alice, http.Header{"Impersonate-User": {"system:serviceaccount:team-a:deployer"}}, http.StatusOK},
		{"service account elsewhere", alice, http.Header{"Impersonate-User": {"system:serviceaccount:kube-system:deployer"}}, http.StatusForbidden},
		{"uid", alice, http.Header{"Impersonate-User": {"bob"}, "Impersonate-Uid": {"1234"}}, http.StatusOK},
		{"denied uid", alice, http.Header{"Impersonate-User": {"bob"}, "Impersonate-Uid": {"0"}}, http.StatusForbidden},
		{"extra, percent-encoded key", alice, http.Header{"Impersonate-User": {"bob"}, "Impersonate-Extra-Example.com%2fteam": {"blue"}}, http.StatusOK},
		{"denied extra value", alice, http.Header{"Impersonate-User": {"bob"}, "Impersonate-Extra-Example.com%2fteam": {"blue", "red"}}, http.StatusForbidden},
		{"group without user", alice, http.Header{"Impersonate-Group": {"ops"}}, http.StatusBadRequest},
		{"uid without user", alice, http.Header{"Impersonate-Uid": {"1234"}}, http.StatusBadRequest},
		{"constrained: user-info mode", dana, http.Header{"Impersonate-User": {"bob"}}, http.StatusOK},
		{"constrained: a group the mode was not granted", dana, http.Header{"Impersonate-User": {"bob"}, "Impersonate-Group": {"ops"}}, http.StatusForbidden},
		{"constrained: serviceaccount mode", dana, http.Header{"Impersonate-User": {"system:serviceaccount:team-a:deployer"}}, http.StatusOK},
		{"constrained: another service account", dana, http.Header{"Impersonate-User": {"system:serviceaccount:team-a:admin"}}, http.StatusForbidden},
	}
	g := &grants{allow: aliceGrants}
	p, capture := impersonatingProxy(t, g, 100, 100)
	kube := newKubeFilter(g)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kube := kube.viaKube(t, tt.requestor, tt.header)
			got, own := viaProxy(t, p, capture, tt.requestor.Name, tt.header.Clone())
			if kube.Code != tt.want {
				t.Fatalf("kube-apiserver's filter answered %d (%s), want %d: the case is wrong", kube.Code, kube.Message, tt.want)
			}
			if diff := cmp.Diff(kube, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("kube-apiserver (-) and the proxy (+) differ:\n%s", diff)
			}
			wantOwn := map[string][]string{OriginalUsernameExtra: {tt.requestor.Name}, OriginalGroupsExtra: tt.requestor.Groups, ClientIPExtra: {"192.0.2.1"}}
			if tt.requestor.UID != "" {
				wantOwn[OriginalUIDExtra] = []string{tt.requestor.UID}
			}
			if got.User != nil && !cmp.Equal(own, wantOwn) {
				t.Errorf("the proxy's extras (-want +got):\n%s", cmp.Diff(wantOwn, own))
			}
		})
	}
}

func TestImpersonationRefusals(t *testing.T) {
	tooMany := http.Header{"Impersonate-User": {"bob"}}
	for range MaxImpersonationValues {
		tooMany.Add("Impersonate-Group", "ops")
	}
	tests := []struct {
		name   string
		header http.Header
		fail   error
		want   outcome
	}{
		{"group without user", http.Header{"Impersonate-Group": {"ops"}}, nil, outcome{Code: http.StatusBadRequest,
			Message: `requested &user.DefaultInfo{Name:"", UID:"", Groups:[]string{"ops"}, Extra:map[string][]string(nil)} without impersonating a user name`}},
		{"more values than the bound", tooMany, nil, outcome{Code: http.StatusBadRequest, Message: "more than 32 Impersonate-* header values"}},
		{"a reserved extra, even when RBAC allows it", http.Header{"Impersonate-User": {"bob"}, "Impersonate-Extra-Aksoidc.io%2foriginal-username": {"x"}},
			nil, outcome{Code: http.StatusForbidden, Message: `userextras.authentication.k8s.io "x" is forbidden: User "alice" cannot impersonate resource "userextras/aksoidc.io/original-username" in API group "authentication.k8s.io" at the cluster scope: keys under aksoidc.io/ are set only by the proxy`}},
		{"an upper-case extra key", http.Header{"Impersonate-User": {"bob"}, "Impersonate-Extra-Team%41": {"x"}},
			nil, outcome{Code: http.StatusBadRequest, Message: `header Impersonate-Extra-Team%41: the extra key "teamA" must be lower case`}},
		{"a group a header writer would trim into another", http.Header{"Impersonate-User": {"bob"}, "Impersonate-Group": {" system:masters"}},
			nil, outcome{Code: http.StatusBadRequest, Message: `impersonation: group " system:masters": begins or ends with white space`}},
		{"a control character in the uid", http.Header{"Impersonate-User": {"bob"}, "Impersonate-Uid": {"u\x7f"}},
			nil, outcome{Code: http.StatusBadRequest, Message: `impersonation: uid "u\x7f": holds a control character`}},
		{"the review fails", http.Header{"Impersonate-User": {"bob"}}, errors.New("connection refused"), outcome{Code: http.StatusForbidden,
			Message: `pods is forbidden: User "alice" cannot impersonate-on:user-info:list resource "pods" in API group "" at the cluster scope: the proxy could not authorize the impersonation now, try again`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, capture := impersonatingProxy(t, &grants{allow: aliceGrants, fail: tt.fail}, 100, 100)
			got, _ := viaProxy(t, p, capture, "alice", tt.header)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("outcome (-want +got):\n%s", diff)
			}
		})
	}
}

// TestImpersonationDecisionsAreCachedPerIdentity: repeating a request costs no review; the
// same attribute for another requesting identity costs one.
func TestImpersonationDecisionsAreCachedPerIdentity(t *testing.T) {
	g := &grants{allow: aliceGrants}
	p, capture := impersonatingProxy(t, g, 100, 100)
	h := http.Header{"Impersonate-User": {"bob"}, "Impersonate-Group": {"ops"}}
	for range 3 {
		if got, _ := viaProxy(t, p, capture, "alice", h); got.Code != http.StatusOK {
			t.Fatalf("status %d: %s", got.Code, got.Message)
		}
	}
	// The first request also asks whether alice has the constrained grant, as kube-apiserver
	// would; the later ones try the mode that worked first, from the cache.
	want := []authorizationv1.SubjectAccessReviewSpec{
		{User: "alice", UID: "42", Groups: []string{"devs", user.AllAuthenticated}, ResourceAttributes: &authorizationv1.ResourceAttributes{
			Verb: "impersonate-on:user-info:list", Version: "v1", Resource: "pods"}},
		{User: "alice", UID: "42", Groups: []string{"devs", user.AllAuthenticated}, ResourceAttributes: &authorizationv1.ResourceAttributes{
			Verb: "impersonate", Version: "v1", Resource: "users", Name: "bob"}},
		{User: "alice", UID: "42", Groups: []string{"devs", user.AllAuthenticated}, ResourceAttributes: &authorizationv1.ResourceAttributes{
			Verb: "impersonate", Version: "v1", Resource: "groups", Name: "ops"}},
	}
	if diff := cmp.Diff(want, g.reviews); diff != "" {
		t.Errorf("reviews for 3 requests (-want +got):\n%s", diff)
	}
}

// TestImpersonationReviewsFailFastOverTheLimit: a review that would wait for the limiter
// longer than reviewWait is refused at once instead of queueing.
func TestImpersonationReviewsFailFastOverTheLimit(t *testing.T) {
	g := &grants{allow: aliceGrants}
	p, capture := impersonatingProxy(t, g, 0.0001, 2)
	// Two reviews: the constrained grant (denied), then the legacy one for bob.
	if got, _ := viaProxy(t, p, capture, "alice", http.Header{"Impersonate-User": {"bob"}}); got.Code != http.StatusOK {
		t.Fatalf("first request: %d %s", got.Code, got.Message)
	}
	got, _ := viaProxy(t, p, capture, "alice", http.Header{"Impersonate-User": {"bob"}, "Impersonate-Group": {"ops"}})
	if got.Code != http.StatusForbidden || g.reviewCount() != 2 {
		t.Errorf("over the limit: status %d after %d reviews, want 403 after 2", got.Code, g.reviewCount())
	}
}

// TestPassthroughImpersonationGoesToTheAPIServer: a passthrough token's Impersonate-* headers
// reach the API server untouched with that token, and no review is made: the API server
// decides.
func TestPassthroughImpersonationGoesToTheAPIServer(t *testing.T) {
	received := make(chan http.Header, 1)
	up := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		received <- r.Header.Clone()
		_, _ = w.Write([]byte("{}"))
	}))
	t.Cleanup(up.Close)
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: up.Certificate().Raw})
	g := &grants{allow: aliceGrants}
	var logs bytes.Buffer
	p, err := NewHandler(Config{Authenticator: identities{}, Logger: slog.New(slog.NewJSONHandler(&logs, nil)), Metrics: NewMetrics(),
		Upstream:      &rest.Config{Host: up.URL, BearerToken: "proxy", TLSClientConfig: rest.TLSClientConfig{CAData: caPEM}},
		Impersonation: NewImpersonationAuthorizer(g, 100, 100)})
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{"Impersonate-User": {"bob"}, "Impersonate-Group": {"ops", "devs"}, "Impersonate-Extra-A%2fb": {"c"}, "Impersonate-Foo": {"x"}}
	req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/api/v1/pods", nil)
	req.Header = h.Clone()
	req.Header.Set("Authorization", "Bearer ci")
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("not forwarded: %d %s", rec.Code, rec.Body)
	}
	got := http.Header{}
	for k, v := range <-received {
		if strings.HasPrefix(k, "Impersonate") || k == "Authorization" {
			got[k] = v
		}
	}
	want := http.Header{"Authorization": {"Bearer ci"}, "Impersonate-User": {"bob"}, "Impersonate-Group": {"ops", "devs"}, "Impersonate-Extra-A%2fb": {"c"}}
	if diff := cmp.Diff(want, got); diff != "" || g.reviewCount() != 0 {
		t.Errorf("forwarded (-want +got), %d reviews:\n%s", g.reviewCount(), diff)
	}
	// The access log says what was asked, not that the proxy granted it.
	if line := logs.String(); !strings.Contains(line, `"passthrough":true`) || !strings.Contains(line, `"requestedImpersonatedUser":"bob"`) ||
		strings.Contains(line, `"impersonatedUser"`) {
		t.Errorf("access log line %s: want passthrough and requestedImpersonatedUser bob, no impersonatedUser", line)
	}
}
