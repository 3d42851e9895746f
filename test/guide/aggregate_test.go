package guide

import (
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/aksoidc/aksoidc/test/charttest"
)

// aggregateClusterRoles fills the rules of the aggregated ClusterRoles (admin, edit, view, ...)
// as kube-controller-manager's clusterrole-aggregation controller does on a cluster; the test's
// control plane runs no controller manager, so the guide's `--clusterrole=edit` would grant
// nothing. view aggregates into edit and edit into admin, hence the rounds.
func aggregateClusterRoles(t *testing.T, c *charttest.Cluster) {
	t.Helper()
	list, err := c.Kube.RbacV1().ClusterRoles().List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	roles := list.Items
	changed := map[int]bool{}
	for round, again := 0, true; again && round < 10; round++ {
		again = false
		for i, role := range roles {
			if role.AggregationRule == nil {
				continue
			}
			rules := aggregatedRules(t, role, roles)
			if !equality.Semantic.DeepEqual(rules, role.Rules) {
				roles[i].Rules, changed[i], again = rules, true, true
			}
		}
	}
	for i := range changed {
		if _, err := c.Kube.RbacV1().ClusterRoles().Update(t.Context(), &roles[i], metav1.UpdateOptions{}); err != nil {
			t.Fatalf("aggregate ClusterRole %s: %v", roles[i].Name, err)
		}
	}
}

func aggregatedRules(t *testing.T, role rbacv1.ClusterRole, roles []rbacv1.ClusterRole) []rbacv1.PolicyRule {
	t.Helper()
	var rules []rbacv1.PolicyRule
	for _, sel := range role.AggregationRule.ClusterRoleSelectors {
		s, err := metav1.LabelSelectorAsSelector(&sel)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range roles {
			if r.Name != role.Name && s.Matches(labels.Set(r.Labels)) {
				rules = append(rules, r.Rules...)
			}
		}
	}
	return rules
}
