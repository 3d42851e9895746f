package tokencache

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// ErrNotFound reports that a store holds no entry for a key.
var ErrNotFound = errors.New("no cached token")

// Entry is what a store keeps for one key.
type Entry struct {
	IDToken      string `json:"id_token,omitempty"`
	AccessToken  string `json:"access_token,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
	// Expiry is when the token handed to kubectl (ID or access token) expires.
	Expiry time.Time `json:"expiry"`
}

// ValidFor reports whether the entry holds a token that stays valid for at
// least margin after now.
func (e Entry) ValidFor(now time.Time, margin time.Duration, useAccessToken bool) bool {
	token := e.IDToken
	if useAccessToken {
		token = e.AccessToken
	}
	return token != "" && !e.Expiry.IsZero() && e.Expiry.After(now.Add(margin))
}

func encode(e Entry) ([]byte, error) {
	return json.Marshal(e)
}

// decode treats anything that is not a complete entry as corrupt, so callers
// can count it as a miss and overwrite it.
func decode(b []byte) (Entry, error) {
	var e Entry
	if err := json.Unmarshal(b, &e); err != nil {
		return Entry{}, fmt.Errorf("corrupt cache entry: %w", err)
	}
	if e.IDToken == "" && e.AccessToken == "" && e.RefreshToken == "" {
		return Entry{}, errors.New("corrupt cache entry: no token")
	}
	return e, nil
}
