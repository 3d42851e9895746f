package authn

import (
	"context"
	"fmt"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/token/cache"
	"k8s.io/apiserver/pkg/authentication/user"
	authenticationclient "k8s.io/client-go/kubernetes/typed/authentication/v1"
	"k8s.io/client-go/util/flowcontrol"
)

// PassthroughTTL is how long a TokenReview answer is reused, so that busy service-account clients
// do not exhaust the proxy's client-side rate limit.
const PassthroughTTL = 10 * time.Second

// TokenReviewWait bounds how long a TokenReview waits for the rate limit. Past it the review
// fails (reason unavailable) instead of queueing: a flood of unknown tokens is refused at once
// rather than piling up in front of the next valid token the cache does not know yet.
const TokenReviewWait = time.Second

// TokenReviewLimit is the rate of the TokenReviews the proxy sends (--upstream-qps and
// --upstream-burst); both must be positive.
type TokenReviewLimit struct {
	QPS   float32
	Burst int
}

// NewTokenReview returns an authenticator that asks the API server about a token with a
// TokenReview, caching answers (both yes and no) for PassthroughTTL. Only cache misses count
// against limit, so a token the cache knows is answered whatever else is going on. client
// should have no rate limiter of its own, which would queue reviews without bound.
func NewTokenReview(client authenticationclient.TokenReviewInterface, limit TokenReviewLimit) authenticator.Token {
	limiter := flowcontrol.NewTokenBucketRateLimiter(limit.QPS, limit.Burst)
	return cache.New(&tokenReview{client: client, limiter: limiter}, false, PassthroughTTL, PassthroughTTL)
}

type tokenReview struct {
	client  authenticationclient.TokenReviewInterface
	limiter flowcontrol.RateLimiter
}

func (t *tokenReview) AuthenticateToken(ctx context.Context, token string) (*authenticator.Response, bool, error) {
	if err := t.wait(ctx); err != nil {
		return nil, false, err
	}
	review, err := t.client.Create(ctx, &authenticationv1.TokenReview{
		Spec: authenticationv1.TokenReviewSpec{Token: token},
	}, metav1.CreateOptions{})
	if err != nil {
		return nil, false, fmt.Errorf("create TokenReview: %w", err)
	}
	if !review.Status.Authenticated {
		return nil, false, nil
	}
	u := review.Status.User
	extra := make(map[string][]string, len(u.Extra))
	for k, v := range u.Extra {
		extra[k] = v
	}
	info := &user.DefaultInfo{Name: u.Username, UID: u.UID, Groups: u.Groups, Extra: extra}
	return &authenticator.Response{User: info, Audiences: review.Status.Audiences}, true, nil
}

// wait takes a token from the limiter; the limiter itself refuses at once a wait that would end
// past the deadline, so a review behind a long queue fails without waiting at all.
func (t *tokenReview) wait(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, TokenReviewWait)
	defer cancel()
	if err := t.limiter.Wait(ctx); err != nil {
		return fmt.Errorf("TokenReview rate limit (--upstream-qps, --upstream-burst): %w", err)
	}
	return nil
}
