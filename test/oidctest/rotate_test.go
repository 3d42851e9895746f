package oidctest_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aksoidc/aksoidc/test/oidctest"
)

// TestRotateKey: after a rotation, a verifier that held the old key verifies tokens signed with
// the new one (it fetches the JWKS again for the new kid), and one that reads the JWKS afresh
// refuses those signed before (the old key is retired).
func TestRotateKey(t *testing.T) {
	iss := oidctest.New(t)
	v := verifier(t, iss, "kubernetes")
	before := iss.Sign(t, iss.Claims("alice", "kubernetes", time.Minute))
	if _, err := v.Verify(t.Context(), before); err != nil {
		t.Fatalf("a token before the rotation: %v", err)
	}
	iss.RotateKey(t)
	after := iss.Sign(t, iss.Claims("bob", "kubernetes", time.Minute))
	_, errAfter := v.Verify(t.Context(), after)
	_, errBefore := verifier(t, iss, "kubernetes").Verify(t.Context(), before)
	got := map[string]bool{"signed after": errAfter == nil, "signed before": errBefore == nil}
	want := map[string]bool{"signed before": false, "signed after": true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("verified after the rotation (-want +got):\n%s", diff)
	}
}
