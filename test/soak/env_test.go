package soak

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aksoidc/aksoidc/test/kubelettest"
	"github.com/aksoidc/aksoidc/test/kubetest"
	"github.com/aksoidc/aksoidc/test/oidctest"
)

// namespace is where the scenarios' objects live.
const namespace = "soak"

// pod is the Running pod on the loopback kubelet (test/kubelettest) whose logs, exec and
// port 80 (an echo server) the streaming sessions use.
const pod = "streams"

// env is a control plane with a loopback kubelet and pod, and an issuer whose users in group
// devs may work in namespace (ConfigMaps; the pod's logs, exec and port-forward) and in group
// viewers may read the pod and its logs, nothing more.
type env struct {
	cluster *kubetest.Cluster
	iss     *oidctest.Issuer
	kubelet *kubelettest.Kubelet
}

func newEnv(t testing.TB) *env {
	t.Helper()
	e := &env{iss: oidctest.New(t)}
	e.kubelet = kubelettest.Start(t, kubelettest.Options{Ports: map[int32]string{80: kubelettest.Echo(t)}})
	e.cluster = kubetest.StartWith(t, kubetest.Options{APIServerFlags: e.kubelet.APIServerFlags()})
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}
	if _, err := e.cluster.AdminClient.CoreV1().Namespaces().Create(t.Context(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.kubelet.Register(t, e.cluster.AdminClient)
	e.kubelet.AddPod(t, e.cluster.AdminClient, namespace, pod)
	readPods := rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods", "pods/log"}, Verbs: []string{"get", "list"}}
	e.grant(t, "soak-user", "oidc:devs",
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"configmaps"},
			Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}},
		readPods,
		// create for SPDY's POST; kube-apiserver authorizes the WebSocket upgrade kubectl tries
		// first (a GET) as get and create, and without get kubectl falls back to SPDY silently.
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods/exec", "pods/portforward"}, Verbs: []string{"get", "create"}})
	e.grant(t, "soak-viewer", "oidc:viewers", readPods)
	return e
}

// grant binds a cluster role name of rules to group.
func (e *env) grant(t testing.TB, name, group string, rules ...rbacv1.PolicyRule) {
	t.Helper()
	e.cluster.Apply(t, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules},
		&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: name},
			Subjects: []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "Group", Name: group}}})
}

// token is a token of user in group devs that expires after ttl.
func (e *env) token(t testing.TB, user string, ttl time.Duration) string {
	t.Helper()
	return e.tokenIn(t, user, "devs", ttl)
}

// tokenIn is a token of user in group that expires after ttl.
func (e *env) tokenIn(t testing.TB, user, group string, ttl time.Duration) string {
	t.Helper()
	c := e.iss.Claims(user, "kubernetes", ttl)
	c["groups"] = []string{group}
	return e.iss.Sign(t, c)
}
