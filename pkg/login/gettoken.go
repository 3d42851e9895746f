package login

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aksoidc/aksoidc/pkg/tokencache"
	"golang.org/x/oauth2"
)

// Cache is where tokens are kept between runs.
type Cache interface {
	Load(id string) (tokencache.Entry, error)
	Save(id string, e tokencache.Entry) error
	Delete(id string) error
}

// LockFunc takes the per-key lock and returns its release function.
type LockFunc func(ctx context.Context, id string) (func(), error)

// FailureLog remembers failed logins per cache key.
type FailureLog interface {
	Last(id string) (at time.Time, reason string, ok bool)
	Record(id string, at time.Time, reason string) error
	Clear(id string) error
}

// Deps are the parts of GetToken that tests and the CLI choose.
type Deps struct {
	Cache    Cache
	Lock     LockFunc
	Failures FailureLog // nil: no cool-down after failed logins
}

// Token is what kubectl receives.
type Token struct {
	Value  string
	Expiry time.Time
}

// ErrLoginTimeout reports that no login completed within Config.LoginTimeout.
var ErrLoginTimeout = errors.New("login did not complete in time")

// GetToken returns a token valid for at least cfg.MinValidity. The cache-hit
// path reads the cache only: no lock, no discovery, no network.
func GetToken(ctx context.Context, cfg Config, deps Deps) (Token, error) {
	id := cfg.CacheKey().ID()
	if !cfg.ForceRefresh {
		if e, ok := loadValid(cfg, deps.Cache, id); ok {
			cfg.Log.Printf(1, "using the cached token (valid until %s)", e.Expiry.Format(time.RFC3339))
			return tokenOf(cfg, e), nil
		}
	}
	ctx, cancel := context.WithTimeoutCause(ctx, cfg.LoginTimeout, ErrLoginTimeout)
	defer cancel()
	unlock, err := deps.Lock(ctx, id)
	switch {
	case err != nil && ctx.Err() != nil:
		return Token{}, timeoutOr(ctx, cfg.LoginTimeout, fmt.Errorf("wait for another kubectl-aksoidc process: %w", err))
	case err != nil:
		// The cache directory cannot be used (read-only home, a file in its place): kubectl
		// still gets a token; saving it will say why it was not kept.
		cfg.Log.Printf(1, "renewing without the lock: %v", err)
	default:
		defer unlock()
	}
	e, err := renew(ctx, cfg, deps, id)
	if err != nil {
		return Token{}, timeoutOr(ctx, cfg.LoginTimeout, err)
	}
	return tokenOf(cfg, e), nil
}

// renew runs under the lock: another process may have renewed the token
// while this one waited, so the cache is read again first.
func renew(ctx context.Context, cfg Config, deps Deps, id string) (tokencache.Entry, error) {
	cache := deps.Cache
	e, valid := loadValid(cfg, cache, id)
	if valid && !cfg.ForceRefresh {
		cfg.Log.Printf(1, "another process renewed the token")
		return e, nil
	}
	if e.RefreshToken == "" && !cfg.Interactive && cfg.GrantType != AuthCode {
		// Say so before any network call: without a terminal this login
		// cannot happen, whatever the issuer answers.
		return tokencache.Entry{}, fmt.Errorf("%s login: %w", cfg.GrantType, ErrNotInteractive)
	}
	c, err := newClient(ctx, cfg)
	if err != nil {
		return tokencache.Entry{}, err
	}
	if e.RefreshToken != "" {
		fresh, err := c.refresh(ctx, e.RefreshToken)
		var rerr *oauth2.RetrieveError
		switch {
		case err == nil:
			save(cfg, cache, id, fresh)
			return fresh, nil
		case errors.As(err, &rerr):
			// The issuer answered and refused the grant (revoked, expired,
			// rotated away): drop it so it is never tried again.
			cfg.Log.Printf(1, "the refresh token was refused (%s); logging in again", rerr.ErrorCode)
			if err := cache.Delete(id); err != nil {
				cfg.Log.Printf(1, "could not purge the cache entry: %v", err)
			}
		default:
			return tokencache.Entry{}, err
		}
	}
	return loginUnlessCoolingDown(ctx, cfg, deps, c, id)
}

// loginUnlessCoolingDown logs in unless a caller without a terminal is asking
// soon after a failed login (Config.FailedLoginCooldown): background pollers
// must not open a browser tab per poll. It records the outcome for the next.
func loginUnlessCoolingDown(ctx context.Context, cfg Config, deps Deps, c *client, id string) (tokencache.Entry, error) {
	if deps.Failures != nil && !cfg.Interactive {
		if at, reason, ok := deps.Failures.Last(id); ok && cfg.now().Before(at.Add(cfg.FailedLoginCooldown)) {
			return tokencache.Entry{}, fmt.Errorf("the last login failed at %s (%s); no new login starts without a terminal before %s: %w",
				at.Format(time.TimeOnly), reason, at.Add(cfg.FailedLoginCooldown).Format(time.TimeOnly), ErrNotInteractive)
		}
	}
	fresh, err := c.login(ctx)
	if err != nil {
		err = timeoutOr(ctx, cfg.LoginTimeout, err)
		// A login refused for want of a terminal was never tried.
		if deps.Failures != nil && !errors.Is(err, ErrNotInteractive) {
			_ = deps.Failures.Record(id, cfg.now(), err.Error())
		}
		return tokencache.Entry{}, err
	}
	if deps.Failures != nil {
		_ = deps.Failures.Clear(id)
	}
	save(cfg, deps.Cache, id, fresh)
	return fresh, nil
}

func loadValid(cfg Config, cache Cache, id string) (tokencache.Entry, bool) {
	e, err := cache.Load(id)
	if err != nil {
		logMiss(cfg, err)
		return e, false
	}
	return e, e.ValidFor(cfg.now(), cfg.MinValidity, cfg.UseAccessToken)
}

func logMiss(cfg Config, err error) {
	if !errors.Is(err, tokencache.ErrNotFound) {
		cfg.Log.Printf(1, "ignoring the token cache entry: %v", err)
	}
}

// save never fails a login: the user has a token, a cache problem is a warning.
func save(cfg Config, cache Cache, id string, e tokencache.Entry) {
	if err := cache.Save(id, e); err != nil {
		_, _ = fmt.Fprintf(cfg.Stderr, "warning: the token could not be cached: %v\n", err)
	}
}

func tokenOf(cfg Config, e tokencache.Entry) Token {
	if cfg.UseAccessToken {
		return Token{Value: e.AccessToken, Expiry: e.Expiry}
	}
	return Token{Value: e.IDToken, Expiry: e.Expiry}
}

func timeoutOr(ctx context.Context, timeout time.Duration, err error) error {
	if errors.Is(context.Cause(ctx), ErrLoginTimeout) {
		return fmt.Errorf("%w: gave up after %s (--login-timeout)", ErrLoginTimeout, timeout)
	}
	return err
}
