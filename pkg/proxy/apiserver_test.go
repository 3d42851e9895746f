package proxy

import (
	"context"
	"net/http"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/endpoints/filters/impersonation"
	"k8s.io/apiserver/pkg/endpoints/request"
)

type allowAll struct{}

func (allowAll) Authorize(context.Context, authorizer.Attributes) (authorizer.Decision, string, error) {
	return authorizer.DecisionAllow, "", nil
}

// ReadByAPIServer serves requests as kube-apiserver's own impersonation filter does, for the
// proxy's service account with every impersonation allowed, and hands record whom the filter
// made of the request: what the API server would read of the proxy's headers. Exported for the
// proxy_test package's tests.
func ReadByAPIServer(record func(http.ResponseWriter, *http.Request, *user.DefaultInfo)) http.Handler {
	read := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := request.UserFrom(r.Context())
		record(w, r, &user.DefaultInfo{Name: u.GetName(), UID: u.GetUID(), Groups: u.GetGroups(), Extra: u.GetExtra()})
	})
	filter := impersonation.WithImpersonation(read, allowAll{}, serializer.NewCodecFactory(runtime.NewScheme()))
	proxySA := &user.DefaultInfo{Name: "system:serviceaccount:aksoidc:aksoidc-proxy"}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		filter.ServeHTTP(w, r.WithContext(request.WithUser(r.Context(), proxySA)))
	})
}
