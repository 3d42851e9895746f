package proxy

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apiserver/pkg/authentication/user"

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
// who asks. A passthrough identity's headers go on untouched with its own token, and the API
// server decides itself.
func withImpersonation(az *ImpersonationAuthorizer, log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
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
				next.ServeHTTP(w, r)
				return
			}
			wanted, err := parseImpersonation(r.Header)
			if err == nil && wanted != nil {
				auth.target, err = az.authorize(r.Context(), auth.identity.User, wanted)
			}
			if err != nil {
				refuseImpersonation(w, state, log, err)
				return
			}
			if auth.target != nil {
				state.impersonatedUser, state.impersonatedGroups = auth.target.Name, auth.target.Groups
			}
			next.ServeHTTP(w, r)
		})
	}
}

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
