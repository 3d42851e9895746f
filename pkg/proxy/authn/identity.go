package authn

import (
	"errors"
	"fmt"

	"k8s.io/apiserver/pkg/authentication/user"
)

// Reason classifies why a request was not authenticated; it labels metrics and log lines.
type Reason string

// Reasons a request is refused.
const (
	ReasonNoToken          Reason = "no_token"
	ReasonInvalidToken     Reason = "invalid_token"
	ReasonExpired          Reason = "expired"
	ReasonReservedIdentity Reason = "reserved_identity"
	// ReasonInvalidIdentity: the mapped identity holds a value the API server would not read
	// byte for byte from an impersonation header (see CheckIdentity), or no username.
	ReasonInvalidIdentity Reason = "invalid_identity"
	ReasonUnavailable     Reason = "unavailable"
	// ReasonDistributedClaims: the token names a source for its groups instead of carrying
	// them, and that source could not be read. Entra ID does this for users in more than 200
	// groups (the "groups overage").
	ReasonDistributedClaims Reason = "distributed_claims"
)

// Error is a refused authentication. Its message never contains the token.
type Error struct {
	Reason Reason
	Err    error
	// Issuer is the configured issuer URL the refused token names in its iss claim (unverified),
	// "" when it names none.
	Issuer string
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %v", e.Reason, e.Err) }

func (e *Error) Unwrap() error { return e.Err }

// ReasonOf returns the reason of an authentication error, ReasonInvalidToken for any other error.
func ReasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ReasonInvalidToken
}

// Identity is who a token belongs to.
type Identity struct {
	User user.Info
	// Issuer is the configured issuer URL that signed the token, "" for passthrough.
	Issuer string
	// Passthrough is set when the API server itself accepted the token (TokenReview): the request
	// is forwarded with the token and without impersonation.
	Passthrough bool
}
