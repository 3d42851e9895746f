package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aksoidc/aksoidc/test/dextest"
	"github.com/aksoidc/aksoidc/test/kubetest"
)

// testDex signs the mock user in at a real Dex over TLS and uses its ID token through the
// proxy: usernames from the email claim and groups prefixed, as a platform team would set it.
func testDex(t *testing.T, cluster *kubetest.Cluster) {
	dex := dextest.Start(t, dextest.Options{TLS: true, ClientID: "kubernetes"})
	p := startProxy(t, cluster.ProxyKubeconfig,
		"--oidc-issuer-url="+dex.IssuerURL, "--oidc-client-id=kubernetes", "--oidc-ca-file="+dex.CAFile,
		"--oidc-username-claim=email", "--oidc-username-prefix=oidc:", "--oidc-groups-claim=groups", "--oidc-groups-prefix=oidc:")
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "dex-authors", Namespace: "team-a"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "devs"},
		Subjects:   []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "Group", Name: "oidc:" + dextest.MockGroup}},
	}
	if _, err := cluster.AdminClient.RbacV1().RoleBindings("team-a").Create(t.Context(), binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	token := dex.Login(t, "openid email groups").IDToken
	checkTeams(t, p, token, "oidc:"+dextest.MockEmail)
	want := "ATTRIBUTE                     VALUE\n" +
		"Username                      oidc:" + dextest.MockEmail + "\n" +
		"Groups                        [oidc:" + dextest.MockGroup + " system:authenticated]\n" +
		"Extra: aksoidc.io/client-ip   [127.0.0.1]\n"
	if diff := cmp.Diff(want, kubectlWhoami(t, cluster, p, token)); diff != "" {
		t.Errorf("kubectl auth whoami (-want +got):\n%s", diff)
	}
}
