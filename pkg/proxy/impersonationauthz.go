package proxy

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/cache"
	"k8s.io/apiserver/pkg/authentication/serviceaccount"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/endpoints/handlers/responsewriters"
	"k8s.io/client-go/util/flowcontrol"

	"github.com/aksoidc/aksoidc/pkg/proxy/authn"
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

// authorize checks every attribute of wanted in kube-apiserver's order (user or service
// account, uid, groups, extras) and returns the identity to forward: a service account named
// without groups gets its own, as in kube-apiserver, which adds system:authenticated itself.
// A refusal is a *apierrors.StatusError with kube-apiserver's Forbidden message.
func (a *ImpersonationAuthorizer) authorize(ctx context.Context, requestor user.Info, wanted *user.DefaultInfo) (*user.DefaultInfo, error) {
	target := &user.DefaultInfo{Name: wanted.Name, UID: wanted.UID, Groups: wanted.Groups, Extra: wanted.Extra}
	checks := []authorizer.AttributesRecord{impersonationAttributes(requestor, corev1.SchemeGroupVersion.Group, "users", wanted.Name)}
	if ns, name, err := serviceaccount.SplitUsername(wanted.Name); err == nil {
		checks[0].Resource, checks[0].Namespace, checks[0].Name = "serviceaccounts", ns, name
		if len(wanted.Groups) == 0 {
			target.Groups = serviceaccount.MakeGroupNames(ns)
		}
	}
	if wanted.UID != "" {
		checks = append(checks, impersonationAttributes(requestor, authenticationv1.GroupName, "uids", wanted.UID))
	}
	for _, g := range wanted.Groups {
		checks = append(checks, impersonationAttributes(requestor, corev1.SchemeGroupVersion.Group, "groups", g))
	}
	keys := make([]string, 0, len(wanted.Extra))
	for k := range wanted.Extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range wanted.Extra[k] {
			attrs := impersonationAttributes(requestor, authenticationv1.GroupName, "userextras", v)
			attrs.Subresource = k
			if strings.HasPrefix(k, authn.ReservedExtraPrefix) {
				return nil, responsewriters.ForbiddenStatusError(attrs, "keys under "+authn.ReservedExtraPrefix+" are set only by the proxy")
			}
			checks = append(checks, attrs)
		}
	}
	// The target must reach the API server as it was authorized, byte for byte: an HTTP/2
	// client may send " system:masters", which an HTTP/1.1 header writer would trim.
	if err := authn.CheckIdentity(target); err != nil {
		return nil, apierrors.NewBadRequest("impersonation: " + err.Error())
	}
	for i := range checks {
		if err := a.check(ctx, &checks[i]); err != nil {
			return nil, err
		}
	}
	return target, nil
}

func impersonationAttributes(requestor user.Info, group, resource, name string) authorizer.AttributesRecord {
	return authorizer.AttributesRecord{
		User: requestor, Verb: "impersonate", APIGroup: group, APIVersion: "v1",
		Resource: resource, Name: name, ResourceRequest: true,
	}
}

// decision is a review's answer, cached.
type decision struct {
	allowed bool
	reason  string
}

// check answers one attribute from the cache or with a SubjectAccessReview. Only answers are
// cached, never a failure to get one.
func (a *ImpersonationAuthorizer) check(ctx context.Context, attrs *authorizer.AttributesRecord) error {
	spec := reviewSpec(attrs)
	key, err := json.Marshal(spec)
	if err != nil {
		return fmt.Errorf("impersonation review key: %w", err)
	}
	d, found := a.cache.Get(string(key))
	if !found {
		got, err := a.review(ctx, spec)
		if err != nil {
			// Denied, as kube-apiserver denies when its authorizer fails; the cause is for the log.
			return fmt.Errorf("%w: %w", responsewriters.ForbiddenStatusError(attrs, "the proxy could not authorize the impersonation now, try again"), err)
		}
		a.cache.Add(string(key), got, ImpersonationDecisionTTL)
		d = got
	}
	if dec := d.(decision); !dec.allowed {
		return responsewriters.ForbiddenStatusError(attrs, dec.reason)
	}
	return nil
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
func reviewSpec(attrs *authorizer.AttributesRecord) authorizationv1.SubjectAccessReviewSpec {
	u := attrs.User
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
	return authorizationv1.SubjectAccessReviewSpec{
		User: u.GetName(), UID: u.GetUID(), Groups: groups, Extra: extra,
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Namespace: attrs.Namespace, Verb: attrs.Verb, Group: attrs.APIGroup, Version: attrs.APIVersion,
			Resource: attrs.Resource, Subresource: attrs.Subresource, Name: attrs.Name,
		},
	}
}
