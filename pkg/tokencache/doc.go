// Package tokencache keeps the plugin's tokens between kubectl invocations.
//
// An Entry is stored under the ID of a Key, which hashes every setting that
// changes the token a login returns, so two configurations never share tokens.
// Stores are the OS keyring, a directory of 0600 files written atomically, and
// a Fallback that moves to the file store when the keyring is unusable. A
// per-key lock file serialises the processes that refresh or log in.
package tokencache
