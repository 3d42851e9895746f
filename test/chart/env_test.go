package chart

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// testGoRuntimeEnv checks that the proxy runs as many Go threads as the CPUs it requested and
// collects garbage harder before it reaches its memory limit (GOMEMLIMIT, 90% of the limit),
// unless the user says otherwise (the dry-run subtest has the API server accept the result).
func testGoRuntimeEnv(t *testing.T) {
	fromRequest := corev1.EnvVar{Name: "GOMAXPROCS", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{
		ContainerName: "proxy", Resource: "requests.cpu", Divisor: resource.MustParse("1"),
	}}}
	memLimit := func(bytes string) corev1.EnvVar { return corev1.EnvVar{Name: "GOMEMLIMIT", Value: bytes} }
	tests := []struct {
		name string
		args []string
		want []corev1.EnvVar
	}{
		// 90% of the default limit, 256Mi.
		{"default", nil, []corev1.EnvVar{fromRequest, memLimit("241591910")}},
		{"binary suffix with a fraction", []string{"--set", "resources.limits.memory=1.5Gi"}, []corev1.EnvVar{fromRequest, memLimit("1449551462")}},
		{"decimal suffix", []string{"--set", "resources.limits.memory=500M"}, []corev1.EnvVar{fromRequest, memLimit("450000000")}},
		{"plain bytes", []string{"--set", "resources.limits.memory=268435456"}, []corev1.EnvVar{fromRequest, memLimit("241591910")}},
		{"no memory limit", []string{"--set", "resources.limits=null"}, []corev1.EnvVar{fromRequest}},
		{
			name: "extraEnv names GOMAXPROCS and GOMEMLIMIT",
			args: []string{"--set", "extraEnv[0].name=TZ", "--set", "extraEnv[0].value=UTC",
				"--set", "extraEnv[1].name=GOMAXPROCS", "--set-string", "extraEnv[1].value=4",
				"--set", "extraEnv[2].name=GOMEMLIMIT", "--set", "extraEnv[2].value=200MiB"},
			want: []corev1.EnvVar{{Name: "TZ", Value: "UTC"}, {Name: "GOMAXPROCS", Value: "4"}, {Name: "GOMEMLIMIT", Value: "200MiB"}},
		},
		{
			name: "extraEnv without them",
			args: []string{"--set", "extraEnv[0].name=TZ", "--set", "extraEnv[0].value=UTC"},
			want: []corev1.EnvVar{fromRequest, memLimit("241591910"), {Name: "TZ", Value: "UTC"}},
		},
		{
			// The chart reads no exponent; the user's own GOMEMLIMIT lets such a limit through.
			name: "unreadable limit with GOMEMLIMIT in extraEnv",
			args: []string{"--set-string", "resources.limits.memory=1e9",
				"--set", "extraEnv[0].name=GOMEMLIMIT", "--set", "extraEnv[0].value=900MB"},
			want: []corev1.EnvVar{fromRequest, {Name: "GOMEMLIMIT", Value: "900MB"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, proxyEnv(t, tt.args...)); diff != "" {
				t.Errorf("proxy container env (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("unreadable limit", func(t *testing.T) {
		t.Parallel()
		_, stderr, err := helmRun(t, "template", "aksoidc-proxy", "env", "--set-string", "resources.limits.memory=1e9")
		want := `resources.limits.memory "1e9": the chart derives GOMEMLIMIT from it and reads only digits with a suffix such as Mi or G; write it so, or set GOMEMLIMIT in extraEnv`
		if err == nil || !strings.Contains(string(stderr), want) {
			t.Errorf("helm template with memory limit 1e9: err %v, stderr %s; want an error containing %q", err, stderr, want)
		}
	})
}

// proxyEnv renders the chart with an issuer and args and returns the proxy container's env.
func proxyEnv(t *testing.T, args ...string) []corev1.EnvVar {
	t.Helper()
	args = append([]string{"--set", "oidc.issuerURL=https://issuer.example.com", "--set", "oidc.clientID=kubectl"}, args...)
	var d appsv1.Deployment
	fromUnstructured(t, find(t, render(t, "aksoidc-proxy", "env", args...), "Deployment", ""), &d)
	return d.Spec.Template.Spec.Containers[0].Env
}
