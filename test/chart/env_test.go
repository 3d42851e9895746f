package chart

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
)

// testGOMAXPROCS checks that the proxy runs as many Go threads as the CPUs it requested unless
// the user says otherwise (the dry-run subtest has the API server accept the field reference).
func testGOMAXPROCS(t *testing.T) {
	fromRequest := corev1.EnvVar{Name: "GOMAXPROCS", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{
		ContainerName: "proxy", Resource: "requests.cpu", Divisor: resource.MustParse("1"),
	}}}
	tests := []struct {
		name string
		args []string
		want []corev1.EnvVar
	}{
		{"default", nil, []corev1.EnvVar{fromRequest}},
		{
			name: "extraEnv names GOMAXPROCS",
			args: []string{"--set", "extraEnv[0].name=TZ", "--set", "extraEnv[0].value=UTC",
				"--set", "extraEnv[1].name=GOMAXPROCS", "--set-string", "extraEnv[1].value=4"},
			want: []corev1.EnvVar{{Name: "TZ", Value: "UTC"}, {Name: "GOMAXPROCS", Value: "4"}},
		},
		{
			name: "extraEnv without it",
			args: []string{"--set", "extraEnv[0].name=TZ", "--set", "extraEnv[0].value=UTC"},
			want: []corev1.EnvVar{fromRequest, {Name: "TZ", Value: "UTC"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"--set", "oidc.issuerURL=https://issuer.example.com", "--set", "oidc.clientID=kubectl"}, tt.args...)
			var got []corev1.EnvVar
			for _, obj := range render(t, "aksoidc-proxy", "env", args...) {
				if obj.GetKind() != "Deployment" {
					continue
				}
				var d appsv1.Deployment
				if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &d); err != nil {
					t.Fatal(err)
				}
				got = d.Spec.Template.Spec.Containers[0].Env
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("proxy container env (-want +got):\n%s", diff)
			}
		})
	}
}
