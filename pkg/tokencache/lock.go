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
// key at a time; the others then read the winner's entry. With an empty dir
// (no usable cache directory) there is nothing to lock: each process goes on
// alone, as nothing it logs in with is shared through files either.
func Lock(ctx context.Context, dir, id string) (func(), error) {
	if dir == "" {
		return func() {}, nil
	}
	if _, err := useDir(dir, true); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, id+".lock")
	// flock opens the path itself: O_NOFOLLOW keeps a symlink planted at the
	// lock's name from making it create or open the file the link names.
	fl := flock.New(path, flock.SetFlag(os.O_CREATE|os.O_RDWR|oNoFollow), flock.SetPermissions(0o600))
	ok, err := fl.TryLockContext(ctx, lockRetry)
	if err != nil && isSymlink(path) {
		return nil, fmt.Errorf("lock: %w", errSymlink(path))
	}
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if !ok {
		return nil, fmt.Errorf("lock %s: not acquired", path)
	}
	return func() { _ = fl.Unlock() }, nil
}
