package tokencache

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gofrs/flock"
)

// lockRetry is how often a waiting process retries the lock; the winner's
// login takes seconds, so 50ms adds nothing a user notices.
const lockRetry = 50 * time.Millisecond

// Lock takes the per-key lock file in dir, waiting until ctx ends. It returns
// the function that releases it. Only one process refreshes or logs in for a
// key at a time; the others then read the winner's entry.
func Lock(ctx context.Context, dir, id string) (func(), error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create token cache dir: %w", err)
	}
	fl := flock.New(filepath.Join(dir, id+".lock"), flock.SetPermissions(0o600))
	ok, err := fl.TryLockContext(ctx, lockRetry)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", fl.Path(), err)
	}
	if !ok {
		return nil, fmt.Errorf("lock %s: not acquired", fl.Path())
	}
	return func() { _ = fl.Unlock() }, nil
}
