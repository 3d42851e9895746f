// Package tokencache keeps the plugin's tokens between kubectl invocations.
//
// An Entry is stored under the ID of a Key, which hashes every setting that
// changes the token a login returns, so two configurations never share tokens.
// Stores are the OS keyring, a directory of 0600 files written atomically, and
// a Fallback that moves to the file store when the keyring is unusable. A
// per-key lock file serialises the processes that refresh or log in.
//
// The directory must belong to the current user and be writable by nobody
// else (see CheckDir), and no file in it is opened through a symlink: on a
// shared machine another user could otherwise read the tokens, forge an entry
// or point a cache file at one of the user's own files.
package tokencache
