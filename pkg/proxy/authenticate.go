package proxy

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"k8s.io/apiserver/pkg/authentication/user"

	"github.com/aksoidc/aksoidc/pkg/proxy/authn"
)

// Authenticator maps a bearer token to an identity; *authn.Authenticator is the real one.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (authn.Identity, error)
}

type identityKey struct{}

type authenticated struct {
	identity authn.Identity
	token    string // kept only for passthrough, where the API server needs it
	// target is whom an authorized client impersonation makes the request from, if any.
	target *user.DefaultInfo
	// clientImpersonation is a passthrough client's own Impersonate-* headers, forwarded with
	// its token for the API server to decide on.
	clientImpersonation http.Header
}

// withRefuseImpersonation refuses a request that carries any Impersonate* header: the proxy
// decides who the request is from, never the client.
func withRefuseImpersonation(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if name, found := hasImpersonation(r.Header); found {
				state := stateFrom(r.Context())
				state.reason = "impersonation"
				log.Warn("refused client impersonation", "header", name, "clientIP", state.clientIP)
				writeStatus(w, http.StatusForbidden, "Forbidden", "impersonation is not allowed through this proxy")
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// withAuthentication lets a request through only with a bearer token the authenticator accepts.
func withAuthentication(a Authenticator, log *slog.Logger, m *Metrics) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			state := stateFrom(r.Context())
			token, err := bearerToken(r.Header)
			var id authn.Identity
			if err == nil {
				id, err = a.Authenticate(r.Context(), token)
			}
			m.observeAuthentication(id, err)
			if err != nil {
				reason := authn.ReasonOf(err)
				state.reason = string(reason)
				log.Warn("authentication failed", "reason", reason, "error", err.Error(), "clientIP", state.clientIP, "path", state.path)
				writeStatus(w, http.StatusUnauthorized, "Unauthorized", "Unauthorized")
				return
			}
			state.user, state.groups, state.passthrough = id.User.GetName(), id.User.GetGroups(), id.Passthrough
			auth := &authenticated{identity: id}
			if id.Passthrough {
				auth.token = token
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), identityKey{}, auth)))
		})
	}
}

// bearerToken reads the one Authorization header, which must be "Bearer <token>".
func bearerToken(h http.Header) (string, error) {
	values := h.Values("Authorization")
	switch len(values) {
	case 0:
		return "", &authn.Error{Reason: authn.ReasonNoToken, Err: errors.New("no Authorization header")}
	case 1:
	default:
		return "", &authn.Error{Reason: authn.ReasonInvalidToken, Err: errors.New("more than one Authorization header")}
	}
	scheme, token, found := strings.Cut(strings.TrimSpace(values[0]), " ")
	if !found || !strings.EqualFold(scheme, "bearer") {
		return "", &authn.Error{Reason: authn.ReasonNoToken, Err: errors.New("the Authorization header is not a bearer token")}
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return "", &authn.Error{Reason: authn.ReasonNoToken, Err: errors.New("empty bearer token")}
	}
	return token, nil
}
