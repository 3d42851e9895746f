package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/cache"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/client-go/util/flowcontrol"
)

// SubjectAccessReviews creates SubjectAccessReviews; client-go's typed client is the real one.
type SubjectAccessReviews interface {
	Create(ctx context.Context, sar *authorizationv1.SubjectAccessReview, opts metav1.CreateOptions) (*authorizationv1.SubjectAccessReview, error)
}

const (
	// ImpersonationDecisionTTL is how long an impersonation decision is reused: long enough that
	// a kubectl command's burst of requests costs one review per attribute, short enough that
	// a revoked grant stops working within seconds.
	ImpersonationDecisionTTL = 5 * time.Second
	// impersonationCacheSize bounds the decisions kept (each key is one requesting identity
	// and one attribute).
	impersonationCacheSize = 4096
	// reviewWait bounds how long a review waits for the rate limit; past it the request is
	// refused rather than queued behind a flood.
	reviewWait = time.Second
)

// ImpersonationAuthorizer decides, as kube-apiserver's impersonation filter does, whether the
// authenticated user may act as the identity their Impersonate-* headers name: one
// SubjectAccessReview per attribute, as that user.
type ImpersonationAuthorizer struct {
	reviews SubjectAccessReviews
	limiter flowcontrol.RateLimiter
	cache   *cache.LRUExpireCache
}

// NewImpersonationAuthorizer returns an authorizer whose reviews are limited to qps and burst
// (--upstream-qps, --upstream-burst). reviews should have no rate limiter of its own, which
// would queue reviews without bound.
func NewImpersonationAuthorizer(reviews SubjectAccessReviews, qps float32, burst int) *ImpersonationAuthorizer {
	return &ImpersonationAuthorizer{
		reviews: reviews,
		limiter: flowcontrol.NewTokenBucketRateLimiter(qps, burst),
		cache:   cache.NewLRUExpireCache(impersonationCacheSize),
	}
}

// Authorize answers one of the impersonation filter's checks from the cache or with a
// SubjectAccessReview as the attributes' user. Only answers are cached, never a failure to get
// one; a failure denies, as kube-apiserver denies when its authorizer fails, and its cause goes
// to the request's log line, not to the client.
func (a *ImpersonationAuthorizer) Authorize(ctx context.Context, attrs authorizer.Attributes) (authorizer.Decision, string, error) {
	state := stateFrom(ctx)
	spec := reviewSpec(attrs)
	key, err := json.Marshal(spec)
	if err != nil {
		return authorizer.DecisionDeny, "", fmt.Errorf("impersonation review key: %w", err)
	}
	d, found := a.cache.Get(string(key))
	if !found {
		got, err := a.review(ctx, spec)
		if err != nil {
			state.reviews = append(state.reviews, "error")
			state.reviewErr = err
			return authorizer.DecisionDeny, "", errReviewFailed
		}
		a.cache.Add(string(key), got, ImpersonationDecisionTTL)
		state.reviews = append(state.reviews, got.result())
		d = got
	}
	if dec := d.(decision); !dec.allowed {
		return authorizer.DecisionDeny, dec.reason, nil
	}
	return authorizer.DecisionAllow, "", nil
}

// errReviewFailed is what a client reads when a review could not be made.
var errReviewFailed = errors.New("the proxy could not authorize the impersonation now, try again")

// decision is a review's answer, cached.
type decision struct {
	allowed bool
	reason  string
}

func (d decision) result() string {
	if d.allowed {
		return "allowed"
	}
	return "denied"
}

func (a *ImpersonationAuthorizer) review(ctx context.Context, spec authorizationv1.SubjectAccessReviewSpec) (decision, error) {
	wait, cancel := context.WithTimeout(ctx, reviewWait)
	defer cancel()
	if err := a.limiter.Wait(wait); err != nil {
		return decision{}, fmt.Errorf("SubjectAccessReview rate limit (--upstream-qps, --upstream-burst): %w", err)
	}
	got, err := a.reviews.Create(ctx, &authorizationv1.SubjectAccessReview{Spec: spec}, metav1.CreateOptions{})
	if err != nil {
		return decision{}, fmt.Errorf("SubjectAccessReview: %w", err)
	}
	s := got.Status
	if s.Allowed && !s.Denied {
		return decision{allowed: true}, nil
	}
	// As kube-apiserver words an authorizer's refusal that came with an evaluation error.
	reason := s.Reason
	switch {
	case s.EvaluationError != "" && reason != "":
		reason = s.EvaluationError + ": " + reason
	case s.EvaluationError != "":
		reason = s.EvaluationError
	}
	return decision{reason: reason}, nil
}

// reviewSpec is the review of attrs as its user, who is authenticated: kube-apiserver's own
// authorizer sees system:authenticated among their groups, so RBAC bindings to it apply.
func reviewSpec(attrs authorizer.Attributes) authorizationv1.SubjectAccessReviewSpec {
	u := attrs.GetUser()
	groups := u.GetGroups()
	if !slices.Contains(groups, user.AllAuthenticated) {
		groups = append(slices.Clip(groups), user.AllAuthenticated)
	}
	var extra map[string]authorizationv1.ExtraValue
	for k, v := range u.GetExtra() {
		if extra == nil {
			extra = map[string]authorizationv1.ExtraValue{}
		}
		extra[k] = v
	}
	spec := authorizationv1.SubjectAccessReviewSpec{User: u.GetName(), UID: u.GetUID(), Groups: groups, Extra: extra}
	if !attrs.IsResourceRequest() {
		spec.NonResourceAttributes = &authorizationv1.NonResourceAttributes{Path: attrs.GetPath(), Verb: attrs.GetVerb()}
		return spec
	}
	// Without the request's field and label selectors: a review without them asks about more,
	// so it can only deny what kube-apiserver's authorizer would allow, never the reverse.
	spec.ResourceAttributes = &authorizationv1.ResourceAttributes{
		Namespace: attrs.GetNamespace(), Verb: attrs.GetVerb(), Group: attrs.GetAPIGroup(), Version: attrs.GetAPIVersion(),
		Resource: attrs.GetResource(), Subresource: attrs.GetSubresource(), Name: attrs.GetName(),
	}
	return spec
}
