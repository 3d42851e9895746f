package authn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"
)

// Options configures an Authenticator.
type Options struct {
	// Source is the configuration without a ConfigFile: the --oidc-* flags (FromFlags).
	Source Source
	// ConfigFile is an AuthenticationConfiguration file (LoadFile). New reads the configuration
	// at start from it; Run re-reads it every ReloadInterval, and a valid new configuration
	// whose new or changed issuers load replaces the old one (unchanged issuers keep their
	// loaded keys), anything else is logged and ignored.
	ConfigFile     string
	ReloadInterval time.Duration
	// AllowSystemIdentities lets a username or group starting with "system:" through.
	AllowSystemIdentities bool
	// Passthrough, when set, is asked about tokens no issuer accepts that are shaped like the API
	// server's own (see NewTokenReview and passthroughCandidate).
	Passthrough authenticator.Token
	Logger      *slog.Logger
	// OnCache is called for every accepted token with whether the token cache answered.
	OnCache func(hit bool)
	Now     func() time.Time
}

// Authenticator maps a bearer token to an Identity.
type Authenticator struct {
	opts    Options
	current atomic.Pointer[jwtSet]
	// applied is the content of ConfigFile the configuration at start was parsed from.
	applied []byte
}

// New builds the authenticators of opts.ConfigFile's configuration, or of opts.Source without
// one. They load discovery and keys in the background until ctx ends; Ready reports when they
// have.
func New(ctx context.Context, opts Options) (*Authenticator, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	a := &Authenticator{opts: opts}
	if opts.ConfigFile != "" {
		src, data, err := LoadFile(opts.ConfigFile)
		if err != nil {
			return nil, err
		}
		a.opts.Source, a.applied = src, data
	}
	set, err := newJWTSet(ctx, a.opts.Source)
	if err != nil {
		return nil, err
	}
	a.current.Store(set)
	context.AfterFunc(ctx, func() { a.current.Load().cancel() })
	return a, nil
}

// Source returns the configuration in force: the one given at start or the last reloaded.
func (a *Authenticator) Source() Source {
	return a.current.Load().src
}

// Authenticate returns who token belongs to, or an *Error.
func (a *Authenticator) Authenticate(ctx context.Context, token string) (Identity, error) {
	if token == "" {
		return Identity{}, &Error{Reason: ReasonNoToken, Err: errors.New("no bearer token")}
	}
	set := a.current.Load()
	id, err := a.authenticate(ctx, set, token)
	if e, ok := errors.AsType[*Error](err); ok {
		named := *e
		named.Issuer = claimedIssuer(token, set.urls)
		return id, &named
	}
	return id, err
}

func (a *Authenticator) authenticate(ctx context.Context, set *jwtSet, token string) (Identity, error) {
	resp, ok, err := set.token.AuthenticateToken(ctx, token)
	if err == nil && ok {
		return a.accept(resp.User)
	}
	if err == nil {
		err = errors.New("no configured issuer accepts the token")
	}
	if a.opts.Passthrough == nil {
		return Identity{}, refusal(err)
	}
	if perr := passthroughCandidate(token, set.urls); perr != nil {
		return Identity{}, refusal(fmt.Errorf("%w; not sent to TokenReview: %w", err, perr))
	}
	presp, pok, perr := a.opts.Passthrough.AuthenticateToken(ctx, token)
	switch {
	case perr != nil:
		return Identity{}, &Error{Reason: ReasonUnavailable, Err: fmt.Errorf("%w; token review: %w", err, perr)}
	case !pok:
		return Identity{}, refusal(fmt.Errorf("%w; token review: not authenticated", err))
	}
	return Identity{User: presp.User, Passthrough: true}, nil
}

// refusal classifies an issuer's refusal: the proxy's own checks below the token cache say
// why themselves; k8s.io/apiserver formats its errors with %v, so only their text tells an
// expired token or unresolved distributed claims apart.
func refusal(err error) *Error {
	if e, ok := errors.AsType[*Error](err); ok {
		return e
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "token is expired"):
		return &Error{Reason: ReasonExpired, Err: err}
	case strings.Contains(msg, "could not expand distributed claims"):
		return &Error{Reason: ReasonDistributedClaims, Err: fmt.Errorf("%w (the token has no groups claim but "+
			"_claim_names pointing elsewhere, as Entra ID does for users in more than 200 groups; "+
			"see the groups overage in docs/aks.md)", err)}
	}
	return &Error{Reason: ReasonInvalidToken, Err: err}
}

func (a *Authenticator) accept(u user.Info) (Identity, error) {
	vu, ok := u.(*verifiedUser)
	if !ok {
		return Identity{}, &Error{Reason: ReasonInvalidToken, Err: fmt.Errorf("unexpected identity type %T", u)}
	}
	hit := vu.served.Swap(true)
	if a.opts.OnCache != nil {
		a.opts.OnCache(hit)
	}
	if !a.opts.Now().Before(vu.expiry) {
		return Identity{}, &Error{Reason: ReasonExpired, Err: fmt.Errorf("token expired at %s", vu.expiry.UTC().Format(time.RFC3339))}
	}
	if !a.opts.AllowSystemIdentities {
		if err := refuseReserved(vu.Info); err != nil {
			return Identity{}, &Error{Reason: ReasonReservedIdentity, Err: err}
		}
	}
	return Identity{User: vu.Info, Issuer: vu.issuer}, nil
}
