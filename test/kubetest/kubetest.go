// Package kubetest runs a real kube-apiserver and etcd (the pinned binaries, through
// controller-runtime's envtest, never downloaded) on 127.0.0.1 for tests, with a client-cert
// identity for aksoidc-proxy that may impersonate users and review tokens.
package kubetest

import (
	"os"
	"path/filepath"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/aksoidc/aksoidc/test/tooldir"
)

// ProxyUser is the name of the proxy's own client-certificate identity.
const ProxyUser = "aksoidc-proxy"

// Cluster is a running control plane.
type Cluster struct {
	// Admin is a cluster-admin connection.
	Admin       *rest.Config
	AdminClient kubernetes.Interface
	// Proxy is the proxy's identity: it may impersonate and create TokenReviews, nothing else.
	Proxy *rest.Config
	// ProxyKubeconfig is a kubeconfig file for Proxy.
	ProxyKubeconfig string
	// KubectlPath is the pinned kubectl next to the control plane.
	KubectlPath string
	// AuditLog is kube-apiserver's audit log (JSON lines, level Metadata), when Options.AuditLog.
	AuditLog string
}

// Options changes how the control plane runs.
type Options struct {
	// APIServerFlags are added to kube-apiserver's command line, e.g. "oidc-issuer-url".
	APIServerFlags map[string]string
	// AuditLog makes kube-apiserver write an audit event of every request to Cluster.AuditLog.
	AuditLog bool
}

// auditPolicy records every request at level Metadata: who, as whom, what, and the answer.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
`

// Start runs a control plane for the test and stops it with t.Cleanup. It skips the test when
// the binaries are absent locally and fails it when CI=true.
func Start(t testing.TB) *Cluster {
	t.Helper()
	return StartWith(t, Options{})
}

// StartWith is Start with options.
func StartWith(t testing.TB, opts Options) *Cluster {
	t.Helper()
	dir := tooldir.ControlPlaneDir(t)
	env := &envtest.Environment{BinaryAssetsDirectory: dir}
	api := env.ControlPlane.GetAPIServer()
	// Only loopback: advertise 127.0.0.1, which needs the endpoint reconciler off.
	api.Configure().Set("advertise-address", "127.0.0.1")
	api.Configure().Set("endpoint-reconciler-type", "none")
	for k, v := range opts.APIServerFlags {
		api.Configure().Set(k, v)
	}
	var auditLog string
	if opts.AuditLog {
		auditLog = configureAudit(t, func(k, v string) { api.Configure().Set(k, v) })
	}
	admin, err := env.Start()
	if err != nil {
		t.Fatalf("start kube-apiserver and etcd from %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stop control plane: %v", err)
		}
	})
	c := &Cluster{Admin: admin, KubectlPath: filepath.Join(dir, "kubectl"), AuditLog: auditLog}
	if c.AdminClient, err = kubernetes.NewForConfig(admin); err != nil {
		t.Fatal(err)
	}
	proxyUser, err := env.AddUser(envtest.User{Name: ProxyUser}, nil)
	if err != nil {
		t.Fatalf("add proxy user: %v", err)
	}
	c.Proxy = proxyUser.Config()
	kubeconfig, err := proxyUser.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	c.ProxyKubeconfig = filepath.Join(t.TempDir(), "proxy.kubeconfig")
	if err := os.WriteFile(c.ProxyKubeconfig, kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}
	role, binding := proxyRole()
	c.Apply(t, role, binding)
	return c
}

// configureAudit writes the audit policy and returns the log's path.
func configureAudit(t testing.TB, set func(key, value string)) string {
	t.Helper()
	dir := t.TempDir()
	policy := filepath.Join(dir, "audit-policy.yaml")
	if err := os.WriteFile(policy, []byte(auditPolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(dir, "audit.log")
	set("audit-policy-file", policy)
	set("audit-log-path", log)
	set("audit-log-mode", "blocking") // an event is in the file before the response is sent
	return log
}

// ClientIPExtra is the user-extra key the proxy adds to every impersonated request.
const ClientIPExtra = "aksoidc.io/client-ip"

// CredentialIDExtra is the extra kube-apiserver's JWT authenticator gives tokens with a jti
// claim; the proxy passes it on.
const CredentialIDExtra = "authentication.kubernetes.io/credential-id"

// The extras by which the proxy names the user behind a kubectl --as.
const (
	OriginalUsernameExtra = "aksoidc.io/original-username"
	OriginalUIDExtra      = "aksoidc.io/original-uid"
	OriginalGroupsExtra   = "aksoidc.io/original-groups"
)

// proxyRole lets the proxy impersonate anyone (the classic verbs kube-apiserver v1.37 still
// honours), review tokens for --token-passthrough and review access for kubectl --as. RBAC matches userextras/<key> exactly
// ("userextras/*" matches nothing), so each extra key is listed.
func proxyRole() (*rbacv1.ClusterRole, *rbacv1.ClusterRoleBinding) {
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: ProxyUser},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"users", "groups", "serviceaccounts"}, Verbs: []string{"impersonate"}},
			{APIGroups: []string{"authentication.k8s.io"}, Resources: []string{"uids", "userextras/" + ClientIPExtra, "userextras/" + CredentialIDExtra,
				"userextras/" + OriginalUsernameExtra, "userextras/" + OriginalUIDExtra, "userextras/" + OriginalGroupsExtra}, Verbs: []string{"impersonate"}},
			{APIGroups: []string{"authentication.k8s.io"}, Resources: []string{"tokenreviews"}, Verbs: []string{"create"}},
			{APIGroups: []string{"authorization.k8s.io"}, Resources: []string{"subjectaccessreviews"}, Verbs: []string{"create"}},
		},
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: ProxyUser},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: ProxyUser},
		Subjects:   []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: ProxyUser}},
	}
	return role, binding
}

// Apply creates a cluster role and its binding.
func (c *Cluster) Apply(t testing.TB, role *rbacv1.ClusterRole, binding *rbacv1.ClusterRoleBinding) {
	t.Helper()
	rbac := c.AdminClient.RbacV1()
	if _, err := rbac.ClusterRoles().Create(t.Context(), role, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create ClusterRole %s: %v", role.Name, err)
	}
	if _, err := rbac.ClusterRoleBindings().Create(t.Context(), binding, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create ClusterRoleBinding %s: %v", binding.Name, err)
	}
}

// ServiceAccountToken returns an hour's token for service account namespace/name from the API
// server's TokenRequest, creating the account when it does not exist.
func ServiceAccountToken(t testing.TB, client kubernetes.Interface, namespace, name string) string {
	t.Helper()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := client.CoreV1().ServiceAccounts(namespace).Create(t.Context(), sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("create service account %s/%s: %v", namespace, name, err)
	}
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)}}
	tok, err := client.CoreV1().ServiceAccounts(namespace).CreateToken(t.Context(), name, req, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("token for service account %s/%s: %v", namespace, name, err)
	}
	return tok.Status.Token
}
