package login

import (
	"io"
	"net/http"
	"time"
)

// GrantType selects how a user signs in when no usable token is cached.
type GrantType string

// The grant types a user can choose.
const (
	AuthCode         GrantType = "authcode"
	AuthCodeKeyboard GrantType = "authcode-keyboard"
	DeviceCode       GrantType = "device-code"
)

// OOBRedirectURL is the out-of-band redirect the keyboard flow uses by default:
// the identity provider shows the code for the user to paste.
const OOBRedirectURL = "urn:ietf:wg:oauth:2.0:oob"

// Config is everything one get-token run needs to know.
type Config struct {
	Settings     // what decides the token, and its cache entry
	ClientSecret string

	MinValidity  time.Duration // a cached token with less left is refreshed
	ForceRefresh bool
	LoginTimeout time.Duration
	// FailedLoginCooldown: after a failed login, callers without a terminal
	// start no new login for this long (see Deps.Failures).
	FailedLoginCooldown time.Duration

	ListenAddresses []string // authcode: tried in order
	RedirectURL     string   // authcode-keyboard
	Browser         Browser  // nil: print the URL only
	Interactive     bool     // false: never read stdin

	TLS        TLSConfig
	HTTPClient *http.Client // replaces the client built from TLS (tests)
	Stdin      io.Reader
	Stderr     io.Writer
	Log        Logger
	Now        func() time.Time
}

func (c Config) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}
