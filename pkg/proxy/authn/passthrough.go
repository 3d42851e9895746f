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
)

// PassthroughTTL is how long a TokenReview answer is reused, so that busy service-account clients
// do not exhaust the proxy's client-side rate limit.
const PassthroughTTL = 10 * time.Second

// NewTokenReview returns an authenticator that asks the API server about a token with a
// TokenReview, caching answers (both yes and no) for PassthroughTTL.
func NewTokenReview(client authenticationclient.TokenReviewInterface) authenticator.Token {
	return cache.New(&tokenReview{client: client}, false, PassthroughTTL, PassthroughTTL)
}

type tokenReview struct {
	client authenticationclient.TokenReviewInterface
}

func (t *tokenReview) AuthenticateToken(ctx context.Context, token string) (*authenticator.Response, bool, error) {
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
