package authn_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aksoidc/aksoidc/pkg/proxy/authn"
	"github.com/aksoidc/aksoidc/test/oidctest"
	"github.com/aksoidc/aksoidc/test/poll"
	"github.com/aksoidc/aksoidc/test/syncbuf"
)

// tokenReviews stands in for the API server's TokenReview endpoint where a count of the reviews
// is the point: it accepts one token and counts every review.
type tokenReviews struct {
	valid string
	calls atomic.Int64
}

func (r *tokenReviews) Create(_ context.Context, review *authenticationv1.TokenReview, _ metav1.CreateOptions) (*authenticationv1.TokenReview, error) {
	r.calls.Add(1)
	out := review.DeepCopy()
	if review.Spec.Token == r.valid {
		out.Status = authenticationv1.TokenReviewStatus{Authenticated: true, User: authenticationv1.UserInfo{Username: "system:serviceaccount:ci:bot"}}
	}
	return out, nil
}

// serviceAccountToken has the shape of a token the API server issues; only the fake knows
// whether it is valid.
func serviceAccountToken(sub string) string {
	seg := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	return seg(`{"alg":"RS256","kid":"sa"}`) + "." +
		seg(`{"iss":"https://kubernetes.default.svc.cluster.local","sub":"`+sub+`"}`) + "." + seg("signature")
}

func newPassthrough(t *testing.T, src authn.Source, reviews *tokenReviews, limit authn.TokenReviewLimit) *authn.Authenticator {
	t.Helper()
	return newReady(t, authn.Options{Source: src, Passthrough: authn.NewTokenReview(reviews, limit)})
}

// TestPassthroughReviewsOnlyForeignJWTs: junk and the configured issuer's own tokens are refused
// without a TokenReview; a well-formed JWT of another issuer costs one.
func TestPassthroughReviewsOnlyForeignJWTs(t *testing.T) {
	iss := oidctest.New(t)
	reviews := &tokenReviews{valid: serviceAccountToken("system:serviceaccount:ci:bot")}
	a := newPassthrough(t, flagSource(t, iss), reviews, authn.TokenReviewLimit{QPS: 100, Burst: 100})
	claims := func(mutate func(map[string]any)) map[string]any { return aliceClaims(iss, mutate) }
	tests := []struct {
		name    string
		token   string
		want    result
		reviews int64
	}{
		{"opaque junk", "garbage-token-value", result{Reason: authn.ReasonInvalidToken}, 0},
		{"two parts", "abcdef.0123456789abcdef", result{Reason: authn.ReasonInvalidToken}, 0},
		{"header not JSON", "bm90IGpzb24.e30.c2ln", result{Reason: authn.ReasonInvalidToken}, 0},
		{"longer than 16 KiB", serviceAccountToken(strings.Repeat("a", authn.MaxPassthroughToken)), result{Reason: authn.ReasonInvalidToken}, 0},
		{"issuer's token, expired", iss.Sign(t, claims(func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() })), result{Reason: authn.ReasonExpired}, 0},
		{"issuer's token, wrong audience", iss.Sign(t, claims(func(c map[string]any) { c["aud"] = "other" })), result{Reason: authn.ReasonInvalidToken}, 0},
		{"issuer's token, unknown key", iss.SignMode(t, oidctest.UnknownKey, claims(func(map[string]any) {})), result{Reason: authn.ReasonInvalidToken}, 0},
		{"issuer's token, alg none", iss.SignMode(t, oidctest.None, claims(func(map[string]any) {})), result{Reason: authn.ReasonInvalidToken}, 0},
		{"unknown service-account token", serviceAccountToken("system:serviceaccount:ci:gone"), result{Reason: authn.ReasonInvalidToken}, 1},
		{"valid service-account token", reviews.valid, result{User: "system:serviceaccount:ci:bot"}, 1},
		{"valid service-account token again (cached)", reviews.valid, result{User: "system:serviceaccount:ci:bot"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := reviews.calls.Load()
			got := resultOf(a.Authenticate(context.Background(), tt.token))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if n := reviews.calls.Load() - before; n != tt.reviews {
				t.Errorf("%d TokenReviews, want %d", n, tt.reviews)
			}
		})
	}
	before := reviews.calls.Load()
	for i := range 420 {
		if _, err := a.Authenticate(context.Background(), fmt.Sprintf("junk-%d", i)); authn.ReasonOf(err) != authn.ReasonInvalidToken {
			t.Fatalf("junk token: %v, want reason invalid_token", err)
		}
	}
	if n := reviews.calls.Load() - before; n != 0 {
		t.Errorf("420 junk tokens cost %d TokenReviews, want none", n)
	}
}

// TestPassthroughIssuersFollowReload: once an issuer is configured, its tokens are no longer
// sent to TokenReview; once removed, they are again.
func TestPassthroughIssuersFollowReload(t *testing.T) {
	issA, issB := oidctest.New(t), oidctest.New(t)
	path := filepath.Join(t.TempDir(), "authn.yaml")
	writeFile(t, path, oidctest.AuthenticationConfiguration(prefixed(issA, "a:")))
	var logs syncbuf.Buffer
	reviews := &tokenReviews{}
	a := newReady(t, authn.Options{
		ConfigFile: path, ReloadInterval: 50 * time.Millisecond,
		Logger: slog.New(slog.NewJSONHandler(&logs, nil)), Passthrough: authn.NewTokenReview(reviews, authn.TokenReviewLimit{QPS: 100, Burst: 100}),
	})
	go a.Run(t.Context())
	reviewsFor := func(iss *oidctest.Issuer, sub string) int64 {
		before := reviews.calls.Load()
		// Another audience: refused by the issuer's authenticator, when it has one.
		if _, err := a.Authenticate(context.Background(), iss.Sign(t, iss.Claims(sub, "other", time.Hour))); err == nil {
			t.Fatalf("a token for another audience was accepted")
		}
		return reviews.calls.Load() - before
	}
	reloads := func() int { return strings.Count(logs.String(), "authentication config reloaded") }
	got := []int64{reviewsFor(issA, "a1"), reviewsFor(issB, "b1")}
	writeFile(t, path, oidctest.AuthenticationConfiguration(prefixed(issB, "b:")))
	poll.Until(t, 20*time.Second, func() bool { return reloads() == 1 })
	got = append(got, reviewsFor(issA, "a2"), reviewsFor(issB, "b2"))
	if diff := cmp.Diff([]int64{0, 1, 1, 0}, got); diff != "" {
		t.Errorf("TokenReviews for A, B with A configured, then with B (-want +got):\n%s", diff)
	}
}

// TestTokenReviewLimitFailsFast: a review waits for the limiter only as long as
// authn.TokenReviewWait allows; one that would wait longer fails at once, reason unavailable.
func TestTokenReviewLimitFailsFast(t *testing.T) {
	iss := oidctest.New(t)
	tests := []struct {
		name string
		qps  float32
		want result
	}{
		{"the second review waits a quarter second and is sent", 4, result{Reason: authn.ReasonInvalidToken}},
		{"the second review would wait 5s and fails at once", 0.2, result{Reason: authn.ReasonUnavailable}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reviews := &tokenReviews{}
			a := newPassthrough(t, flagSource(t, iss), reviews, authn.TokenReviewLimit{QPS: tt.qps, Burst: 1})
			first := resultOf(a.Authenticate(context.Background(), serviceAccountToken("first")))
			id, err := a.Authenticate(context.Background(), serviceAccountToken("second"))
			got := []result{first, resultOf(id, err)}
			if diff := cmp.Diff([]result{{Reason: authn.ReasonInvalidToken}, tt.want}, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("the review waited out its deadline instead of failing at once: %v", err)
			}
		})
	}
}

// TestTokenReviewFloodSparesCachedTokens: while a flood of distinct unknown service-account
// tokens exhausts the TokenReview limit, a valid token the cache knows keeps working, and every
// flooding token is refused at once instead of queueing.
func TestTokenReviewFloodSparesCachedTokens(t *testing.T) {
	iss := oidctest.New(t)
	reviews := &tokenReviews{valid: serviceAccountToken("system:serviceaccount:ci:bot")}
	// One review per 5s: after the first, every review would wait past the bound, yet inside the
	// 30s the token cache gives a lookup, so a limiter that queued would be seen doing it.
	a := newPassthrough(t, flagSource(t, iss), reviews, authn.TokenReviewLimit{QPS: 0.2, Burst: 1})
	if _, err := a.Authenticate(context.Background(), reviews.valid); err != nil {
		t.Fatalf("valid token before the flood: %v", err)
	}
	const flood = 200
	var wg sync.WaitGroup
	floodErrs := make([]error, flood)
	validErrs := make([]error, flood)
	for i := range flood {
		wg.Go(func() {
			_, floodErrs[i] = a.Authenticate(context.Background(), serviceAccountToken(fmt.Sprintf("flood-%d", i)))
		})
		wg.Go(func() {
			_, validErrs[i] = a.Authenticate(context.Background(), reviews.valid)
		})
	}
	wg.Wait()
	count := map[string]int{}
	for i := range flood {
		count["flood "+string(authn.ReasonOf(floodErrs[i]))]++
		if errors.Is(floodErrs[i], context.DeadlineExceeded) {
			count["flood waited out its deadline"]++
		}
		if validErrs[i] == nil {
			count["valid accepted"]++
		}
	}
	want := map[string]int{"flood unavailable": flood, "valid accepted": flood}
	if diff := cmp.Diff(want, count); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	if n := reviews.calls.Load(); n != 1 {
		t.Errorf("%d TokenReviews sent, want 1 (the valid token's first)", n)
	}
}
