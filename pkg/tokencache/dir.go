package tokencache

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
)

// Whoever can write to the cache directory can plant a symlink where a cache
// file goes, or a forged entry; whoever owns it can read what is kept there.
// So the stores, the lock and the failure marks use a directory only when it
// belongs to the current user and nobody else may write to it. An empty Dir
// means no directory at all: nothing is kept, locked or marked (the CLI's
// choice once it has refused the configured one).

// CheckDir returns an error naming dir and what is wrong with it when it
// exists and is not safe to keep tokens in: not a directory, owned by another
// user (or reached through another user's symlink), or writable by the group
// or by everyone. A missing dir is fine: it is created 0700 when first
// written. On Windows only the kind is checked: its ACLs are not uids and
// mode bits.
func CheckDir(dir string) error {
	_, err := checkDir(dir, os.Geteuid())
	return err
}

// checkDir reports whether dir exists and, if it does, whether uid may trust it.
func checkDir(dir string, uid int) (exists bool, err error) {
	fi, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("token cache dir: %w", err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		// The link's owner decides where it points, now and at the next run.
		if err := checkOwner(dir, "a symlink owned", fi, uid); err != nil {
			return true, err
		}
		if fi, err = os.Stat(dir); err != nil {
			return false, fmt.Errorf("token cache dir: %w", err)
		}
	}
	if !fi.IsDir() {
		return true, fmt.Errorf("token cache dir %s is not a directory", dir)
	}
	if err := checkOwner(dir, "owned", fi, uid); err != nil {
		return true, err
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o022 != 0 {
		return true, fmt.Errorf("token cache dir %s is writable by other users (mode %04o)", dir, fi.Mode().Perm())
	}
	return true, nil
}

func checkOwner(dir, what string, fi fs.FileInfo, uid int) error {
	owner, ok := fileOwner(fi)
	if !ok || owner == uid {
		return nil
	}
	return fmt.Errorf("token cache dir %s is %s by uid %d, not by uid %d (the current user)", dir, what, owner, uid)
}

// useDir checks dir before a store, lock or mark touches it and, when create
// is set, makes a missing one 0700. exists is false when there is nothing to
// read.
func useDir(dir string, create bool) (exists bool, err error) {
	uid := os.Geteuid()
	exists, err = checkDir(dir, uid)
	if err != nil || exists || !create {
		return exists, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, fmt.Errorf("create token cache dir: %w", err)
	}
	// Check what is there now: another user may have made it first.
	return checkDir(dir, uid)
}
