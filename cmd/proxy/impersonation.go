package main

import (
	"fmt"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/flowcontrol"

	"github.com/aksoidc/aksoidc/pkg/proxy"
)

// impersonationAuthorizer is nil, refusing client impersonation, with --nested-impersonation=false.
func impersonationAuthorizer(c *completed) (*proxy.ImpersonationAuthorizer, error) {
	if !c.nestedImpersonation {
		return nil, nil
	}
	// The authorizer limits its reviews itself and fails fast; client-go's limiter would queue.
	cfg := rest.CopyConfig(c.upstream)
	cfg.RateLimiter = flowcontrol.NewFakeAlwaysRateLimiter()
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("upstream client: %w", err)
	}
	return proxy.NewImpersonationAuthorizer(client.AuthorizationV1().SubjectAccessReviews(), c.upstreamQPS, c.upstreamBurst), nil
}
