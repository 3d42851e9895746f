package proxy

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/endpoints/filters/impersonation"
	"k8s.io/apiserver/pkg/endpoints/handlers/responsewriters"
	"k8s.io/apiserver/pkg/endpoints/request"

	"github.com/aksoidc/aksoidc/pkg/proxy/authn"
)

// MaxImpersonationValues bounds the Impersonate-* header values of one request: each value
// can cost a SubjectAccessReview, so a client cannot make one request cost hundreds.
const MaxImpersonationValues = 32

// The extras by which the proxy records, for the API server's audit log, who asked to
// impersonate. Only the proxy sets them: keys under authn.ReservedExtraPrefix are refused from
// claims (authn) and from clients (parseImpersonation).
const (
	OriginalUsernameExtra = authn.ReservedExtraPrefix + "original-username"
	OriginalUIDExtra      = authn.ReservedExtraPrefix + "original-uid"
	OriginalGroupsExtra   = authn.ReservedExtraPrefix + "original-groups"
)

// impersonationValues counts the values of every impersonation header (isImpersonationHeader):
// whatever the client meant by them, each is work.
func impersonationValues(h http.Header) int {
	n := 0
	for name, values := range h {
		if isImpersonationHeader(name) {
			n += max(len(values), 1)
		}
	}
	return n
}

// parseImpersonation reads the identity a client asks to act as, exactly as kube-apiserver
// v1.37's impersonation filter reads it (processImpersonationHeaders), so that a request means
// the same through the proxy as without it, down to the 400's message. It returns nil when the
// request names no user and nothing else. Unlike kube-apiserver it refuses an extra key that is
// not lower case once decoded: the proxy could not forward it byte for byte (header names are
// case-insensitive), and forwarding a key other than the one authorized would be a hole.
func parseImpersonation(h http.Header) (*user.DefaultInfo, error) {
	wanted := &user.DefaultInfo{}
	wanted.Name = h.Get(authenticationv1.ImpersonateUserHeader)
	wanted.UID = h.Get(authenticationv1.ImpersonateUIDHeader)
	wanted.Groups = append(wanted.Groups, h[authenticationv1.ImpersonateGroupHeader]...)
	hasExtra := false
	for name, values := range h {
		if !strings.HasPrefix(name, authenticationv1.ImpersonateUserExtraHeaderPrefix) {
			continue
		}
		hasExtra = true
		if len(values) == 0 {
			continue
		}
		key := unescapeExtraKey(strings.ToLower(name[len(authenticationv1.ImpersonateUserExtraHeaderPrefix):]))
		if key != strings.ToLower(key) {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("header %s: the extra key %q must be lower case", name, key))
		}
		if wanted.Extra == nil {
			wanted.Extra = map[string][]string{}
		}
		wanted.Extra[key] = append(wanted.Extra[key], values...)
	}
	if wanted.Name == "" {
		if wanted.UID != "" || len(wanted.Groups) > 0 || hasExtra {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("requested %#v without impersonating a user name", wanted))
		}
		return nil, nil
	}
	return wanted, nil
}

// unescapeExtraKey decodes %-encoded bytes as kube-apiserver does, keeping a malformed key as
// it is.
func unescapeExtraKey(encoded string) string {
	key, err := url.PathUnescape(encoded)
	if err != nil {
		return encoded
	}
	return key
}

// clientImpersonationHeaders copies the impersonation headers kube-apiserver reads, for a
// passthrough request, where the API server itself decides on them with the client's token.
func clientImpersonationHeaders(h http.Header) http.Header {
	out := http.Header{}
	for name, values := range h {
		switch {
		case name == authenticationv1.ImpersonateUserHeader, name == authenticationv1.ImpersonateGroupHeader,
			name == authenticationv1.ImpersonateUIDHeader,
			strings.HasPrefix(name, authenticationv1.ImpersonateUserExtraHeaderPrefix):
			out[name] = append([]string(nil), values...)
		}
	}
	return out
}

// withImpersonation lets the authenticated user act as another identity where RBAC lets them,
// as kube-apiserver does (kubectl --as). It runs after authentication: the decision is about
// who asks. The decision is k8s.io/apiserver's own impersonation filter, the one kube-apiserver
// v1.37 runs (legacy `impersonate` grants and the constrained `impersonate:<mode>` and
// `impersonate-on:<mode>:<verb>` ones), asking az; the proxy's own rules run first. A
// passthrough identity's headers go on untouched with its own token, and the API server
// decides itself.
func withImpersonation(az *ImpersonationAuthorizer, log *slog.Logger, m *Metrics) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		decided := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			state, auth := stateFrom(r.Context()), r.Context().Value(identityKey{}).(*authenticated)
			u, _ := request.UserFrom(r.Context())
			auth.target = forwardedTarget(u)
			state.impersonatedUser, state.impersonatedGroups = auth.target.Name, auth.target.Groups
			next.ServeHTTP(w, r)
		})
		filter := impersonation.WithConstrainedImpersonation(decided, az, statusCodecs)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n := impersonationValues(r.Header)
			if n == 0 {
				next.ServeHTTP(w, r)
				return
			}
			state := stateFrom(r.Context())
			auth, _ := r.Context().Value(identityKey{}).(*authenticated)
			if auth == nil {
				writeStatus(w, http.StatusInternalServerError, "InternalError", "internal error")
				return
			}
			if n > MaxImpersonationValues {
				err := apierrors.NewBadRequest(fmt.Sprintf("more than %d Impersonate-* header values", MaxImpersonationValues))
				refuseImpersonation(w, state, log, err)
				return
			}
			if auth.identity.Passthrough {
				auth.clientImpersonation = clientImpersonationHeaders(r.Header)
				state.impersonatedUser = auth.clientImpersonation.Get(authenticationv1.ImpersonateUserHeader)
				next.ServeHTTP(w, r)
				return
			}
			if err := checkImpersonation(r.Header, auth.identity.User); err != nil {
				refuseImpersonation(w, state, log, err)
				return
			}
			decide(filter, w, r, auth.identity.User, log, m)
		})
	}
}

// decide runs kube-apiserver's impersonation filter for the request, as requestor. The filter
// answers a refusal itself, in kube-apiserver's words; the cause of a failed review is logged.
func decide(filter http.Handler, w http.ResponseWriter, r *http.Request, requestor user.Info, log *slog.Logger, m *Metrics) {
	state := stateFrom(r.Context())
	info, err := requestInfoFactory.NewRequestInfo(r)
	if err != nil {
		refuseImpersonation(w, state, log, fmt.Errorf("impersonation: request info: %w", err))
		return
	}
	ctx := request.WithRequestInfo(request.WithUser(r.Context(), requestor), info)
	filter.ServeHTTP(w, r.WithContext(ctx))
	for _, result := range state.reviews {
		m.reviews.WithLabelValues(result).Inc()
	}
	if state.impersonatedUser == "" {
		state.reason = "impersonation"
		log.Warn("refused client impersonation", "user", state.user, "clientIP", state.clientIP, "auditID", state.auditID,
			"reviewError", errorText(state.reviewErr))
	}
}

func errorText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// checkImpersonation applies the proxy's own rules to what a client asks to act as, before
// any review is spent on it: kube-apiserver's 400s for malformed combinations, extra keys the
// proxy can forward byte for byte and does not reserve, values the API server reads as sent.
func checkImpersonation(h http.Header, requestor user.Info) error {
	wanted, err := parseImpersonation(h)
	if err != nil || wanted == nil {
		return err
	}
	for k, values := range wanted.Extra {
		if strings.HasPrefix(k, authn.ReservedExtraPrefix) {
			attrs := authorizer.AttributesRecord{User: requestor, Verb: "impersonate", APIGroup: authenticationv1.GroupName, APIVersion: "v1",
				Resource: "userextras", Subresource: k, Name: values[0], ResourceRequest: true}
			return responsewriters.ForbiddenStatusError(attrs, "keys under "+authn.ReservedExtraPrefix+" are set only by the proxy")
		}
	}
	// The target must reach the API server as it was authorized, byte for byte: an HTTP/2
	// client may send " system:masters", which an HTTP/1.1 header writer would trim.
	if err := authn.CheckIdentity(wanted); err != nil {
		return apierrors.NewBadRequest("impersonation: " + err.Error())
	}
	return nil
}

// forwardedTarget is the identity the filter decided on, as the proxy forwards it: without
// system:authenticated, which the API server adds itself to every impersonated user.
func forwardedTarget(u user.Info) *user.DefaultInfo {
	groups := slices.DeleteFunc(slices.Clone(u.GetGroups()), func(g string) bool { return g == user.AllAuthenticated })
	return &user.DefaultInfo{Name: u.GetName(), UID: u.GetUID(), Groups: groups, Extra: u.GetExtra()}
}

// statusCodecs encode the filter's refusals as kube-apiserver does: a v1 Status.
var statusCodecs = func() serializer.CodecFactory {
	scheme := runtime.NewScheme()
	metav1.AddToGroupVersion(scheme, schema.GroupVersion{Version: "v1"})
	return serializer.NewCodecFactory(scheme)
}()

// refuseImpersonation answers with the Status inside err (kube-apiserver's words); the whole
// error, which may say why a review failed, goes to the log only.
func refuseImpersonation(w http.ResponseWriter, state *requestState, log *slog.Logger, err error) {
	state.reason = "impersonation"
	log.Warn("refused client impersonation", "error", err.Error(), "user", state.user, "clientIP", state.clientIP)
	var se *apierrors.StatusError
	if !errors.As(err, &se) {
		writeStatus(w, http.StatusForbidden, "Forbidden", "impersonation refused")
		return
	}
	writeStatusObject(w, se.ErrStatus)
}
