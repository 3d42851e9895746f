//go:build !unix

package tokencache

import "io/fs"

// oNoFollow is zero where the OS has no O_NOFOLLOW (Windows, where making a
// symlink takes a privilege anyway).
const oNoFollow = 0

// fileOwner reports no owner: Windows guards files with ACLs, not uids.
func fileOwner(fs.FileInfo) (uid int, ok bool) {
	return 0, false
}
