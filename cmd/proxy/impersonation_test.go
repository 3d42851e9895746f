package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aksoidc/aksoidc/test/kubetest"
	"github.com/aksoidc/aksoidc/test/oidctest"
	"github.com/aksoidc/aksoidc/test/poll"
	"github.com/aksoidc/aksoidc/test/testpki"
)

// nestedAuthConfig maps sub to user and uid, groups to groups, both prefixed "oidc:".
func nestedAuthConfig(iss *oidctest.Issuer) string {
	return oidctest.AuthenticationConfiguration(iss.JWTAuthenticator([]string{"kubernetes"}, `  claimMappings:
    username:
      claim: sub
      prefix: "oidc:"
    groups:
      claim: groups
      prefix: "oidc:"
    uid:
      claim: sub
`))
}

// grantImpersonation lets oidc:alice impersonate user bob, group oidc:ops, service account
// default/deployer, uid 1234 and extra example.com/team=blue, and oidc:dana impersonate bob and
// the deployer only to create SelfSubjectReviews; the proxy may forward that extra key (its
// role lists the extras it may set).
func grantImpersonation(t *testing.T, cluster *kubetest.Cluster) {
	t.Helper()
	impersonate := []string{"impersonate"}
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "alice-impersonates"}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"users"}, ResourceNames: []string{"bob"}, Verbs: impersonate},
		{APIGroups: []string{""}, Resources: []string{"groups"}, ResourceNames: []string{"oidc:ops"}, Verbs: impersonate},
		{APIGroups: []string{""}, Resources: []string{"serviceaccounts"}, ResourceNames: []string{"deployer"}, Verbs: impersonate},
		{APIGroups: []string{"authentication.k8s.io"}, Resources: []string{"uids"}, ResourceNames: []string{"1234"}, Verbs: impersonate},
		{APIGroups: []string{"authentication.k8s.io"}, Resources: []string{"userextras/example.com/team"}, ResourceNames: []string{"blue"}, Verbs: impersonate},
	}}
	cluster.Apply(t, role, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "alice-impersonates"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: role.Name},
		Subjects: []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: "oidc:alice"}}})
	// dana's grants are constrained impersonation's (KEP-5284, on by default since v1.36): bob
	// and the deployer service account, each only to create SelfSubjectReviews.
	constrained := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "dana-impersonates"}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{"authentication.k8s.io"}, Resources: []string{"users"}, ResourceNames: []string{"bob"}, Verbs: []string{"impersonate:user-info"}},
		{APIGroups: []string{"authentication.k8s.io"}, Resources: []string{"serviceaccounts"}, ResourceNames: []string{"deployer"}, Verbs: []string{"impersonate:serviceaccount"}},
		{APIGroups: []string{"authentication.k8s.io"}, Resources: []string{"selfsubjectreviews"},
			Verbs: []string{"impersonate-on:user-info:create", "impersonate-on:serviceaccount:create"}},
	}}
	cluster.Apply(t, constrained, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "dana-impersonates"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: constrained.Name},
		Subjects: []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: "oidc:dana"}}})
	proxyExtra := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "proxy-team-extra"}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{"authentication.k8s.io"}, Resources: []string{"userextras/example.com/team"}, Verbs: impersonate}}}
	cluster.Apply(t, proxyExtra, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "proxy-team-extra"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: proxyExtra.Name},
		Subjects: []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: kubetest.ProxyUser}}})
}

// reviewed is what a SelfSubjectReview request answers: the status code, the message of a
// refusal and, when it ran, whom the API server saw.
type reviewed struct {
	Code     int
	Message  string
	Username string
	UID      string
	Groups   []string
	Extra    map[string][]string
}

func selfSubjectReview(t *testing.T, url string, ca []byte, token, userAgent string, h http.Header) reviewed {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, strings.TrimSuffix(url, "/")+"/apis/authentication.k8s.io/v1/selfsubjectreviews",
		bytes.NewBufferString(`{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}`))
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	resp, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: testpki.ClientConfig(t, ca)}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	var out struct {
		Message string
		Status  struct {
			UserInfo struct {
				Username string
				UID      string
				Groups   []string
				Extra    map[string][]string
			}
		}
	}
	_ = json.Unmarshal(body, &out)
	u := out.Status.UserInfo
	return reviewed{Code: resp.StatusCode, Message: out.Message, Username: u.Username, UID: u.UID, Groups: u.Groups, Extra: u.Extra}
}

// TestImpersonationAgainstKubeAPIServer is differential: the same OIDC users and RBAC, once
// straight at kube-apiserver configured with the same AuthenticationConfiguration and once
// through the proxy, give the same decision and the same identity; through the proxy the audit
// log also names the human behind the impersonation.
func TestImpersonationAgainstKubeAPIServer(t *testing.T) {
	iss := oidctest.New(t)
	file := filepath.Join(t.TempDir(), "authentication.yaml")
	if err := os.WriteFile(file, []byte(nestedAuthConfig(iss)), 0o600); err != nil {
		t.Fatal(err)
	}
	cluster := kubetest.StartWith(t, kubetest.Options{AuditLog: true, APIServerFlags: map[string]string{"authentication-config": file}})
	grantImpersonation(t, cluster)
	p := startProxy(t, cluster.ProxyKubeconfig, "--authentication-config="+file)
	token := func(sub string) string {
		c := iss.Claims(sub, "kubernetes", time.Hour)
		c["groups"] = []string{"devs"}
		return iss.Sign(t, c)
	}
	alice, carol, dana := token("alice"), token("carol"), token("dana")
	// kube-apiserver loads the issuer's keys in the background.
	poll.Until(t, 30*time.Second, func() bool {
		return selfSubjectReview(t, cluster.Admin.Host, cluster.Admin.CAData, alice, "warm-up", nil).Code == http.StatusCreated
	})
	tests := []struct {
		name   string
		token  string
		header http.Header
		want   int
	}{
		{"allowed user", alice, http.Header{"Impersonate-User": {"bob"}}, http.StatusCreated},
		{"allowed group", alice, http.Header{"Impersonate-User": {"bob"}, "Impersonate-Group": {"oidc:ops"}}, http.StatusCreated},
		{"denied user", alice, http.Header{"Impersonate-User": {"root"}}, http.StatusForbidden},
		{"denied group", alice, http.Header{"Impersonate-User": {"bob"}, "Impersonate-Group": {"system:masters"}}, http.StatusForbidden},
		{"service account", alice, http.Header{"Impersonate-User": {"system:serviceaccount:default:deployer"}}, http.StatusCreated},
		{"uid", alice, http.Header{"Impersonate-User": {"bob"}, "Impersonate-Uid": {"1234"}}, http.StatusCreated},
		{"extras", alice, http.Header{"Impersonate-User": {"bob"}, "Impersonate-Extra-Example.com%2fteam": {"blue"}}, http.StatusCreated},
		{"group without user", alice, http.Header{"Impersonate-Group": {"oidc:ops"}}, http.StatusBadRequest},
		{"a user without any impersonate right", carol, http.Header{"Impersonate-User": {"bob"}}, http.StatusForbidden},
		{"constrained: user-info mode", dana, http.Header{"Impersonate-User": {"bob"}}, http.StatusCreated},
		{"constrained: a group the mode was not granted", dana, http.Header{"Impersonate-User": {"bob"}, "Impersonate-Group": {"oidc:ops"}}, http.StatusForbidden},
		{"constrained: serviceaccount mode", dana, http.Header{"Impersonate-User": {"system:serviceaccount:default:deployer"}}, http.StatusCreated},
		{"constrained: a user not granted", dana, http.Header{"Impersonate-User": {"root"}}, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			agent := "nested-" + strings.ReplaceAll(tt.name, " ", "-")
			direct := selfSubjectReview(t, cluster.Admin.Host, cluster.Admin.CAData, tt.token, agent+"-direct", tt.header)
			proxied := selfSubjectReview(t, p.URL, p.CA.PEM, tt.token, agent, tt.header)
			if direct.Code != tt.want {
				t.Fatalf("kube-apiserver answered %d (%s), want %d: the case is wrong", direct.Code, direct.Message, tt.want)
			}
			own := map[string][]string{}
			for k, v := range proxied.Extra {
				if strings.HasPrefix(k, "aksoidc.io/") {
					own[k] = v
					delete(proxied.Extra, k)
				}
			}
			if diff := cmp.Diff(direct, proxied, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("kube-apiserver (-) and the proxy (+) differ:\n%s", diff)
			}
			if tt.want == http.StatusCreated {
				checkOriginalAudited(t, cluster, p, agent, tt.token == dana, own)
			}
		})
	}
	// The reviews and the tokens behind them are counted, the tokens by their issuer.
	for _, series := range []string{
		`aksoidc_proxy_subject_access_reviews_total{result="allowed"}`,
		`aksoidc_proxy_subject_access_reviews_total{result="denied"}`,
		`aksoidc_proxy_authentications_total{issuer="` + iss.URL + `",reason="",result="accepted"}`,
		`apiserver_impersonation_attempts_total{decision="allowed",mode="legacy"}`,
		`apiserver_impersonation_attempts_total{decision="allowed",mode="user-info"}`,
	} {
		if p.metric(t, series) == 0 {
			t.Errorf("%s is 0 or missing from /metrics", series)
		}
	}
}

// checkOriginalAudited: the target saw, and the audit log recorded, the requestor (alice, or
// dana) as the one behind the impersonation; the proxy's access log names both.
func checkOriginalAudited(t *testing.T, cluster *kubetest.Cluster, p *runningProxy, agent string, dana bool, seen map[string][]string) {
	t.Helper()
	name := "alice"
	if dana {
		name = "dana"
	}
	want := map[string][]string{
		kubetest.OriginalUsernameExtra: {"oidc:" + name}, kubetest.OriginalUIDExtra: {name},
		kubetest.OriginalGroupsExtra: {"oidc:devs"}, kubetest.ClientIPExtra: {"127.0.0.1"},
	}
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Errorf("the proxy's extras the target saw (-want +got):\n%s", diff)
	}
	poll.Until(t, 30*time.Second, func() bool { return len(auditEvents(t, cluster, agent)) > 0 })
	for _, e := range auditEvents(t, cluster, agent) {
		if e.ImpersonatedUser == nil || !cmp.Equal(e.ImpersonatedUser.Extra[kubetest.OriginalUsernameExtra], []string{"oidc:" + name}) {
			t.Errorf("audit event %+v does not name oidc:%s", e, name)
		}
	}
	poll.Until(t, 30*time.Second, func() bool {
		return strings.Contains(p.Logs.String(), `"user":"oidc:`+name+`","groups":["oidc:devs"],"passthrough":false`) &&
			strings.Contains(p.Logs.String(), `"impersonatedUser":"`)
	})
}
