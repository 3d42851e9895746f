package authn

import (
	"bytes"
	"context"
	"os"
	"time"
)

// reloadHealthTimeout bounds how long a new configuration's issuers may take to load before the
// reload is abandoned (and tried again at the next interval).
const reloadHealthTimeout = 30 * time.Second

// Run re-reads Options.ConfigFile every ReloadInterval until ctx ends. It returns at once when
// there is no file to watch.
func (a *Authenticator) Run(ctx context.Context) {
	if a.opts.ConfigFile == "" || a.opts.ReloadInterval <= 0 {
		return
	}
	applied := a.applied
	ticker := time.NewTicker(a.opts.ReloadInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			applied = a.reload(ctx, applied)
		}
	}
}

// reload applies the file when it differs from applied and returns the data now considered
// handled: a file that can never be valid is not parsed again until it changes.
func (a *Authenticator) reload(ctx context.Context, applied []byte) []byte {
	log := a.opts.Logger.With("file", a.opts.ConfigFile)
	data, err := os.ReadFile(a.opts.ConfigFile)
	if err != nil {
		log.Error("authentication config not reloaded, keeping the last good one", "error", err)
		return applied
	}
	if bytes.Equal(data, applied) {
		return applied
	}
	src, err := Parse(data)
	if err != nil {
		log.Error("authentication config is invalid, keeping the last good one", "error", err)
		return data
	}
	current := a.current.Load()
	set, created, err := buildJWTSet(ctx, src, current)
	if err != nil {
		log.Error("authentication config is invalid, keeping the last good one", "error", err)
		return data
	}
	// Only new or changed issuers must load first: the others keep serving with the keys they
	// have, so one issuer being down does not hold back a change to the rest.
	if err := waitHealthy(ctx, created); err != nil {
		cancelAll(created)
		log.Error("authentication config not applied: issuers did not load, keeping the last good one", "error", err)
		return applied
	}
	a.current.Swap(set)
	gone := current.without(set)
	// Requests that already hold the old set finish with it; the key refresh of the issuers it
	// alone used stops a minute later.
	time.AfterFunc(time.Minute, func() { cancelAll(gone) })
	log.Info("authentication config reloaded", "issuers", len(src.Config.JWT), "kept", len(set.issuers)-len(created), "retired", len(gone))
	return data
}

func waitHealthy(ctx context.Context, issuers []*issuer) error {
	ctx, cancel := context.WithTimeout(ctx, reloadHealthTimeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		err := healthy(ctx, issuers)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-tick.C:
		}
	}
}
