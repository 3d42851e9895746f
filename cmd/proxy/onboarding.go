package main

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/aksoidc/aksoidc/pkg/proxy"
)

// onboardingHandler is the onboarding page, showing the discovery document in force, or nil
// (a nil interface, which the handler skips) when there is none.
func onboardingHandler(c *completed, discovery *proxy.Discovery, log *slog.Logger) (http.Handler, error) {
	if c.onboarding == nil {
		return nil, nil
	}
	cfg := *c.onboarding
	cfg.Document, cfg.Logger = discovery.Document, log
	page, err := proxy.NewOnboarding(cfg)
	if err != nil {
		return nil, fmt.Errorf("--onboarding-*: %w", err)
	}
	log.Info("serving the onboarding page to browsers", "url", cfg.ServerURL)
	return page, nil
}
