package chart

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// TestAKSDefaults checks what the default values give a pod on AKS: a stopping pod keeps
// serving for 15s while the Azure load balancer's probes take it out, the kubelet waits for the
// sleep and the shutdown grace, and the two replicas run on two nodes (DoNotSchedule: a shared
// node would be a single point of failure for every user's kubectl).
func TestAKSDefaults(t *testing.T) {
	t.Parallel()
	var d appsv1.Deployment
	fromUnstructured(t, find(t, render(t, "aks", "aksoidc"), "Deployment", ""), &d)
	type pod struct {
		Replicas                      *int32
		PreStop                       *corev1.LifecycleHandler
		TerminationGracePeriodSeconds *int64
		Spread                        []corev1.TopologySpreadConstraint
	}
	own := &metav1.LabelSelector{MatchLabels: map[string]string{
		"app.kubernetes.io/name": "aksoidc-proxy", "app.kubernetes.io/instance": "aks",
	}}
	want := pod{
		Replicas:                      ptr.To[int32](2),
		PreStop:                       &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 15}},
		TerminationGracePeriodSeconds: ptr.To[int64](15 + 30 + 10),
		Spread: []corev1.TopologySpreadConstraint{
			{MaxSkew: 1, TopologyKey: "topology.kubernetes.io/zone", WhenUnsatisfiable: corev1.ScheduleAnyway, LabelSelector: own},
			{
				MaxSkew: 1, TopologyKey: "kubernetes.io/hostname", WhenUnsatisfiable: corev1.DoNotSchedule, LabelSelector: own,
				MatchLabelKeys: []string{"pod-template-hash"}, NodeTaintsPolicy: ptr.To(corev1.NodeInclusionPolicyHonor),
			},
		},
	}
	spec := d.Spec.Template.Spec
	got := pod{d.Spec.Replicas, spec.Containers[0].Lifecycle.PreStop, spec.TerminationGracePeriodSeconds, spec.TopologySpreadConstraints}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Deployment with the default values (-want +got):\n%s", diff)
	}
}

// TestAutoscalingRendering checks that with autoscaling helm template renders no replica count
// (a GitOps tool applying it would otherwise reset the HPA's count at every sync) and an HPA
// that keeps two pods at least.
func TestAutoscalingRendering(t *testing.T) {
	t.Parallel()
	objs := render(t, "scale", "aksoidc", "--set", "autoscaling.enabled=true")
	var d appsv1.Deployment
	fromUnstructured(t, find(t, objs, "Deployment", ""), &d)
	if d.Spec.Replicas != nil {
		t.Errorf("Deployment replicas = %d with autoscaling; want none, the HPA owns the count", *d.Spec.Replicas)
	}
	var hpa autoscalingv2.HorizontalPodAutoscaler
	fromUnstructured(t, find(t, objs, "HorizontalPodAutoscaler", ""), &hpa)
	if diff := cmp.Diff(ptr.To[int32](2), hpa.Spec.MinReplicas); diff != "" {
		t.Errorf("HPA minReplicas (-want +got):\n%s", diff)
	}
}

// testAutoscalingUpgrade installs the chart for real and upgrades it as a user would: turning
// autoscaling on must keep the two pods (without a count in the manifest, helm's upgrade patch
// removes the field and the Deployment drops to 1), and a later upgrade must keep the count the
// HPA chose.
func testAutoscalingUpgrade(t *testing.T, c *cluster) {
	t.Parallel()
	const ns, release = "autoscaling", "autoscaling"
	base := []string{"--kubeconfig", c.kubeconfig, "--set", "oidc.issuerURL=https://issuer.example.com", "--set", "oidc.clientID=kubectl"}
	replicas := func(t *testing.T) int32 {
		t.Helper()
		d, err := c.kube.AppsV1().Deployments(ns).Get(t.Context(), release+"-aksoidc-proxy", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return ptr.Deref(d.Spec.Replicas, -1)
	}
	helm(t, "install", release, ns, append([]string{"--create-namespace"}, base...)...)
	if got := replicas(t); got != 2 {
		t.Fatalf("after install, replicas = %d, want 2", got)
	}
	autoscaling := append(base, "--set", "autoscaling.enabled=true")
	helm(t, "upgrade", release, ns, autoscaling...)
	if got := replicas(t); got != 2 {
		t.Errorf("after the upgrade that turns autoscaling on, replicas = %d, want 2", got)
	}
	// The HPA scales through the scale subresource, as here.
	scale := &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: release + "-aksoidc-proxy", Namespace: ns}, Spec: autoscalingv1.ScaleSpec{Replicas: 5}}
	if _, err := c.kube.AppsV1().Deployments(ns).UpdateScale(t.Context(), scale.Name, scale, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	helm(t, "upgrade", release, ns, append(autoscaling, "--set", "logLevel=debug")...)
	if got := replicas(t); got != 5 {
		t.Errorf("after an upgrade with the HPA at 5 replicas, replicas = %d, want 5", got)
	}
}

// TestServiceMonitorAPIVersion checks that Azure Managed Prometheus gets a ServiceMonitor in
// the group its metrics add-on reads (the dry-run subtest of TestChart has the API server check
// it against a derived CRD, see testdata/crds).
func TestServiceMonitorAPIVersion(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, args, want string }{
		{"default", "", "monitoring.coreos.com/v1"},
		{"Azure Managed Prometheus", "metrics.serviceMonitor.apiVersion=azmonitoring.coreos.com/v1", "azmonitoring.coreos.com/v1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := []string{"--set", "metrics.serviceMonitor.enabled=true"}
			if tt.args != "" {
				args = append(args, "--set", tt.args)
			}
			if got := find(t, render(t, "monitor", "aksoidc", args...), "ServiceMonitor", "").GetAPIVersion(); got != tt.want {
				t.Errorf("ServiceMonitor apiVersion = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestAKSValuesRefused checks that values that would undo the defaults above fail helm
// template with a message naming the value.
func TestAKSValuesRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"one replica minimum", []string{"--set", "autoscaling.enabled=true", "--set", "autoscaling.minReplicas=1"},
			"at '/autoscaling/minReplicas': minimum: got 1, want 2"},
		{"unknown ServiceMonitor group", []string{"--set", "metrics.serviceMonitor.apiVersion=monitoring.coreos.com/v1beta1"},
			"at '/metrics/serviceMonitor/apiVersion': value must be one of 'monitoring.coreos.com/v1', 'azmonitoring.coreos.com/v1'"},
		{"misspelt spread field", []string{"--set", "topologySpreadConstraints[0].maxSkew=1", "--set", "topologySpreadConstraints[0].topologyKey=kubernetes.io/hostname",
			"--set", "topologySpreadConstraints[0].whenUnsatisfiable=DoNotSchedule", "--set", "topologySpreadConstraints[0].nodeTaintPolicy=Honor"},
			"at '/topologySpreadConstraints/0': additional properties 'nodeTaintPolicy' not allowed"},
		// The chart writes --oidc-required-claim=<key>=<value>; the proxy cuts at the first "=".
		{"a required claim's name with =", []string{"--set-json", `oidc.requiredClaims={"tid=attacker":"x"}`},
			"invalid propertyName 'tid=attacker'"},
		// The chart's own labels come first; a second copy would win (YAML keeps the last key).
		{"a pod label the chart sets", []string{"--set-json", `podLabels={"app.kubernetes.io/name":"other"}`},
			"invalid propertyName 'app.kubernetes.io/name'"},
		{"the metrics Service's component label on the main Service", []string{"--set-json", `service.labels={"app.kubernetes.io/component":"metrics"}`},
			"invalid propertyName 'app.kubernetes.io/component'"},
		{"the chart's label on the ServiceMonitor", []string{"--set-json", `metrics.serviceMonitor.labels={"helm.sh/chart":"x"}`},
			"invalid propertyName 'helm.sh/chart'"},
		// --discovery-extra-scopes is one comma-separated flag: a comma would make more scopes.
		{"a scope with a comma", []string{"--set-json", `discovery.extraScopes=["groups,admin"]`},
			"at '/discovery/extraScopes/0': 'groups,admin' does not match pattern"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, stderr, err := helmRun(t, "template", "refused", "aksoidc", tt.args...)
			if err == nil || !strings.Contains(string(stderr), tt.want) {
				t.Errorf("helm template %s: err %v, stderr:\n%s\nwant an error containing %q", strings.Join(tt.args, " "), err, stderr, tt.want)
			}
		})
	}
}
