package chart

import (
	"fmt"
	"path/filepath"
	"testing"

	authzv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// access is one thing the proxy's service account might do.
type access struct {
	verb, group, resource, subresource string
}

func (a access) String() string {
	return fmt.Sprintf("%s %s/%s/%s", a.verb, a.group, a.resource, a.subresource)
}

var (
	impersonateUsers    = access{"impersonate", "", "users", ""}
	impersonateGroups   = access{"impersonate", "", "groups", ""}
	impersonateUIDs     = access{"impersonate", "authentication.k8s.io", "uids", ""}
	impersonateClientIP = access{"impersonate", "authentication.k8s.io", "userextras", "aksoidc.io/client-ip"}
	impersonateSA       = access{"impersonate", "", "serviceaccounts", ""}
	impersonateScopes   = access{"impersonate", "authentication.k8s.io", "userextras", "scopes"}
	impersonateCredID   = access{"impersonate", "authentication.k8s.io", "userextras", "authentication.kubernetes.io/credential-id"}
	impersonateTenant   = access{"impersonate", "authentication.k8s.io", "userextras", "example.com/tenant"}
	impersonateWebhook  = access{"impersonate", "authentication.k8s.io", "userextras", "example.com/added-by-a-webhook"}
	createTokenReviews  = access{"create", "authentication.k8s.io", "tokenreviews", ""}
	createSARs          = access{"create", "authorization.k8s.io", "subjectaccessreviews", ""}
	impersonateOrigUser = access{"impersonate", "authentication.k8s.io", "userextras", "aksoidc.io/original-username"}
	impersonateOrigUID  = access{"impersonate", "authentication.k8s.io", "userextras", "aksoidc.io/original-uid"}
	impersonateOrigGrps = access{"impersonate", "authentication.k8s.io", "userextras", "aksoidc.io/original-groups"}
	impersonateAksoidc  = access{"impersonate", "authentication.k8s.io", "userextras", "aksoidc.io/other"}
	getSecrets          = access{"get", "", "secrets", ""}
)

// testRBAC installs renderings for real and asks the API server's RBAC
// authorizer (SubjectAccessReview) what the proxy's service account may do:
// what the proxy sends must be allowed, nothing more.
func testRBAC(t *testing.T, c *cluster) {
	tests := []struct {
		name    string
		args    []string
		allowed []access
		denied  []access
	}{
		{
			name: "defaults",
			allowed: []access{impersonateUsers, impersonateGroups, impersonateUIDs, impersonateClientIP, impersonateCredID,
				impersonateSA, impersonateOrigUser, impersonateOrigUID, impersonateOrigGrps, createSARs},
			denied: []access{impersonateScopes, impersonateAksoidc, createTokenReviews, getSecrets},
		},
		{
			name:    "without nested impersonation",
			args:    []string{"--set", "nestedImpersonation.enabled=false"},
			allowed: []access{impersonateUsers, impersonateGroups, impersonateUIDs, impersonateClientIP},
			denied:  []access{impersonateSA, impersonateOrigUser, impersonateOrigUID, impersonateOrigGrps, createSARs, impersonateAksoidc},
		},
		{
			name:    "without credential-id",
			args:    []string{"--set", "rbac.credentialIDExtra=false"},
			allowed: []access{impersonateUsers, impersonateGroups, impersonateUIDs, impersonateClientIP},
			denied:  []access{impersonateCredID, impersonateScopes, createTokenReviews},
		},
		{
			name:    "token passthrough",
			args:    []string{"--set", "tokenPassthrough.enabled=true"},
			allowed: []access{impersonateUsers, impersonateClientIP, createTokenReviews},
			denied:  []access{impersonateScopes, getSecrets},
		},
		{
			// authenticationConfig's claimMappings.extra key example.com/tenant
			// and one from rbac.extraUserExtras.
			name:    "maximal",
			args:    []string{"-f", valuesFile(t, "maximal-values.yaml")},
			allowed: []access{impersonateClientIP, impersonateTenant, impersonateWebhook, impersonateCredID, createTokenReviews},
			denied:  []access{impersonateScopes, getSecrets},
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ns := fmt.Sprintf("rbac-%d", i)
			objs := render(t, ns, ns, tt.args...)
			c.ensureNamespaces(t, objs, ns)
			user := ""
			for _, obj := range objs {
				if err := c.apply(t.Context(), obj, false); err != nil {
					t.Fatalf("apply %s %s: %v", obj.GetKind(), obj.GetName(), err)
				}
				if obj.GetKind() == "ServiceAccount" {
					user = "system:serviceaccount:" + obj.GetNamespace() + ":" + obj.GetName()
				}
			}
			if user == "" {
				t.Fatal("rendering has no ServiceAccount")
			}
			for _, a := range tt.allowed {
				if !c.can(t, user, ns, a) {
					t.Errorf("%s may not %s; the proxy needs it", user, a)
				}
			}
			for _, a := range tt.denied {
				if c.can(t, user, ns, a) {
					t.Errorf("%s may %s; it must not", user, a)
				}
			}
		})
	}
}

func valuesFile(t *testing.T, name string) string {
	t.Helper()
	for _, f := range valuesFiles(t) {
		if filepath.Base(f) == name {
			return f
		}
	}
	t.Fatalf("charts/aksoidc-proxy/ci/%s not found", name)
	return ""
}

// can asks the API server's authorizer whether user may do a, as a service
// account of namespace ns.
func (c *cluster) can(t *testing.T, user, ns string, a access) bool {
	t.Helper()
	sar := &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
		User:   user,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
		ResourceAttributes: &authzv1.ResourceAttributes{
			Verb: a.verb, Group: a.group, Resource: a.resource, Subresource: a.subresource, Name: "alice",
		},
	}}
	got, err := c.kube.AuthorizationV1().SubjectAccessReviews().Create(t.Context(), sar, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("SubjectAccessReview %s: %v", a, err)
	}
	return got.Status.Allowed
}
