package login

import (
	"errors"
	"slices"
	"time"

	"github.com/aksoidc/aksoidc/pkg/tokencache"
)

// Settings are what decide which token a login returns, and so the cache entry that keeps
// it. get-token, whoami, logout and setup all build the entry's key from Settings alone: were
// one of them to spell the rule differently, it would silently stop finding the token.
type Settings struct {
	IssuerURL string
	ClientID  string
	// ExtraScopes are asked for besides AlwaysRequestedScopes, in any order and with
	// duplicates: neither changes the request nor the cache entry.
	ExtraScopes    []string
	ExtraParams    map[string]string // added to the authorization request
	GrantType      GrantType
	UseAccessToken bool
}

// AlwaysRequestedScopes are in every request: openid for an ID token, offline_access for
// a refresh token.
var AlwaysRequestedScopes = []string{"openid", "offline_access"}

// Scopes is the complete scope list: AlwaysRequestedScopes, then each extra scope once,
// in the order given.
func (s Settings) Scopes() []string {
	scopes := slices.Clone(AlwaysRequestedScopes)
	for _, sc := range s.ExtraScopes {
		if !slices.Contains(scopes, sc) {
			scopes = append(scopes, sc)
		}
	}
	return scopes
}

// CacheKey is the key the token for these settings is cached under.
func (s Settings) CacheKey() tokencache.Key {
	return tokencache.Key{
		IssuerURL:      s.IssuerURL,
		ClientID:       s.ClientID,
		Scopes:         s.Scopes(),
		GrantType:      string(s.GrantType),
		UseAccessToken: s.UseAccessToken,
		ExtraParams:    s.ExtraParams,
	}
}

// Storage is where tokens are kept between runs.
type Storage string

// The storages a user can choose.
const (
	KeyringStorage Storage = "keyring" // the OS keyring, falling back to files
	FileStorage    Storage = "file"
	NoStorage      Storage = "none" // every run logs in
)

// Storages are the valid Storage values, in the order help text names them.
var Storages = []Storage{KeyringStorage, FileStorage, NoStorage}

// keyringTimeout bounds each call to the OS keyring. A hung keyring daemon cannot be told apart
// from a person slowly answering the keyring's unlock prompt, so the bound is a trade: too
// short, and that person's token lands in the file store for this one run (it still works; the
// next run uses the unlocked keyring); too long, and every kubectl command waits that long while
// the daemon is stuck, since without a bound it waits forever. 10s lets most people type a
// password and keeps a stuck keyring a nuisance rather than a hang.
const keyringTimeout = 10 * time.Second

// keyring is the OS keyring store every command uses.
func keyring() tokencache.KeyringStore {
	return tokencache.KeyringStore{Service: tokencache.KeyringService, Timeout: keyringTimeout}
}

// OpenCache opens storage. The keyring falls back to the file store in dir and says so once:
// at -v 1 when it is absent, which is common and costs nothing (containers, SSH), and as a
// warning when it failed mid-call (tokencache.ErrKeyringFault), which cost a wait or moved the
// token. An empty dir means no file store (tokencache.FileStore).
func OpenCache(storage Storage, dir string, log Logger) tokencache.Store {
	file := tokencache.FileStore{Dir: dir}
	switch storage {
	case FileStorage:
		return file
	case NoStorage:
		return tokencache.NoStore{}
	}
	return &tokencache.Fallback{
		Primary:   tokencache.StopAfterFault(keyring()),
		Secondary: file,
		Notify:    func(err error) { notifyKeyringFailed(log, dir, err) },
	}
}

func notifyKeyringFailed(log Logger, dir string, err error) {
	level, prefix := 1, "the OS keyring is unavailable"
	if errors.Is(err, tokencache.ErrKeyringFault) {
		level, prefix = 0, "warning: the OS keyring failed mid-call"
	}
	if dir == "" {
		log.Printf(level, "%s (%v); tokens are not kept", prefix, err)
		return
	}
	log.Printf(level, "%s (%v); keeping tokens in %s", prefix, err, dir)
}

// EveryCache is every store an entry may be in, whatever the storage chosen now: an entry
// sits in the file store when the keyring was unavailable as it was saved, or when an earlier
// run chose files. logout clears them all; the keyring comes first.
func EveryCache(dir string) []tokencache.Store {
	return []tokencache.Store{tokencache.StopAfterFault(keyring()), tokencache.FileStore{Dir: dir}}
}
