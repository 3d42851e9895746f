//go:build unix

package tokencache

import (
	"io/fs"
	"syscall"
)

// oNoFollow makes an open fail on a symlink instead of opening what it names.
const oNoFollow = syscall.O_NOFOLLOW

// fileOwner returns the uid that owns fi.
func fileOwner(fi fs.FileInfo) (uid int, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}
