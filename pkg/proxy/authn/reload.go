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
	applied := a.opts.ConfigData
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
	set, err := newJWTSet(ctx, src)
	if err != nil {
		log.Error("authentication config is invalid, keeping the last good one", "error", err)
		return data
	}
	if err := waitHealthy(ctx, set); err != nil {
		set.cancel()
		log.Error("authentication config not applied: issuers did not load, keeping the last good one", "error", err)
		return applied
	}
	old := a.current.Swap(set)
	// Requests that already hold the old set finish with it; its key refresh stops a minute later.
	time.AfterFunc(time.Minute, old.cancel)
	log.Info("authentication config reloaded", "issuers", len(src.Config.JWT))
	return data
}

func waitHealthy(ctx context.Context, set *jwtSet) error {
	ctx, cancel := context.WithTimeout(ctx, reloadHealthTimeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		err := set.healthy()
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
