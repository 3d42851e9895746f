package soak

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aksoidc/aksoidc/test/kubetest"
	"github.com/aksoidc/aksoidc/test/oidctest"
)

// namespace is where the scenarios' objects live.
const namespace = "soak"

// env is a control plane and an issuer whose users in group devs may work in namespace.
type env struct {
	cluster *kubetest.Cluster
	iss     *oidctest.Issuer
}

func newEnv(t testing.TB) *env {
	t.Helper()
	e := &env{iss: oidctest.New(t)}
	e.cluster = kubetest.Start(t)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}
	if _, err := e.cluster.AdminClient.CoreV1().Namespaces().Create(t.Context(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "soak-user"}, Rules: []rbacv1.PolicyRule{{
		APIGroups: []string{""}, Resources: []string{"configmaps"},
		Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"},
	}}}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "soak-user"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "soak-user"},
		Subjects: []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "Group", Name: "oidc:devs"}}}
	e.cluster.Apply(t, role, binding)
	return e
}

// token is a token of user in group devs that expires after ttl.
func (e *env) token(t testing.TB, user string, ttl time.Duration) string {
	t.Helper()
	c := e.iss.Claims(user, "kubernetes", ttl)
	c["groups"] = []string{"devs"}
	return e.iss.Sign(t, c)
}
