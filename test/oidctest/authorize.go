package oidctest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"
)

// OOBRedirectURL makes /authorize show the code instead of redirecting.
const OOBRedirectURL = "urn:ietf:wg:oauth:2.0:oob"

// Provider adds the OAuth endpoints of an identity provider to an Issuer:
// /authorize, /token and /device/code, for one public client. It logs every
// user in as "alice" at once, and misbehaves on demand (see the Set methods),
// which no real identity provider can be made to do.
type Provider struct {
	*Issuer
	ClientID string

	t          testing.TB
	mu         sync.Mutex
	ttl        time.Duration
	mutate     func(claims map[string]any)
	forgeState bool
	codes      map[string]grant
	refresh    map[string]bool
	devices    map[string]*grant
	logins     int
	refreshes  int
	revoked    []string
	revokeFail int // HTTP status /revoke answers with, 0 for success
}

type grant struct {
	challenge, nonce string
	polled           bool
}

// NewProvider starts an Issuer with login endpoints for clientID. ID tokens
// live for 10 minutes unless SetTTL says otherwise.
func NewProvider(t testing.TB, clientID string) *Provider {
	t.Helper()
	p := &Provider{
		Issuer: New(t), ClientID: clientID, t: t, ttl: 10 * time.Minute,
		codes: map[string]grant{}, refresh: map[string]bool{}, devices: map[string]*grant{},
	}
	p.Mux.HandleFunc("GET /authorize", p.serveAuthorize)
	p.Mux.HandleFunc("POST /token", p.serveToken)
	p.Mux.HandleFunc("POST /device/code", p.serveDeviceCode)
	p.Mux.HandleFunc("POST /revoke", p.serveRevoke)
	return p
}

// EnableRevocation publishes the revocation endpoint (RFC 7009) in discovery, which Dex, the
// real issuer of the tests, does not have. With failStatus other than 0 it answers that status
// with an OAuth error instead of revoking.
func (p *Provider) EnableRevocation(failStatus int) {
	p.mu.Lock()
	p.revokeFail = failStatus
	p.mu.Unlock()
	p.revocation.Store(true)
}

// Revoked lists the token_type_hint and token of every revocation request answered 200.
func (p *Provider) Revoked() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.revoked...)
}

// RefreshTokenValid reports whether refresh can still be used.
func (p *Provider) RefreshTokenValid(refresh string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.refresh[refresh]
}

func (p *Provider) serveRevoke(w http.ResponseWriter, r *http.Request) {
	if !p.clientOK(r) {
		oauthError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.revokeFail != 0 {
		oauthError(w, p.revokeFail, "temporarily_unavailable")
		return
	}
	// RFC 7009 2.2: an unknown or already revoked token is answered 200 too.
	delete(p.refresh, r.PostForm.Get("token"))
	p.revoked = append(p.revoked, r.PostForm.Get("token_type_hint")+" "+r.PostForm.Get("token"))
}

// SetTTL sets the lifetime of the ID tokens issued from now on.
func (p *Provider) SetTTL(ttl time.Duration) { p.mu.Lock(); p.ttl = ttl; p.mu.Unlock() }

// SetMutate installs a function that alters every ID token's claims before
// signing: a wrong aud, iss or nonce, an expired exp.
func (p *Provider) SetMutate(f func(map[string]any)) { p.mu.Lock(); p.mutate = f; p.mu.Unlock() }

// SetForgeState makes /authorize redirect with a state the client never sent.
func (p *Provider) SetForgeState(v bool) { p.mu.Lock(); p.forgeState = v; p.mu.Unlock() }

// RevokeAll invalidates every refresh token issued so far.
func (p *Provider) RevokeAll() { p.mu.Lock(); p.refresh = map[string]bool{}; p.mu.Unlock() }

// Logins counts completed logins: codes exchanged and device grants approved.
func (p *Provider) Logins() int { p.mu.Lock(); defer p.mu.Unlock(); return p.logins }

// Refreshes counts refresh-token grants answered with new tokens.
func (p *Provider) Refreshes() int { p.mu.Lock(); defer p.mu.Unlock(); return p.refreshes }

func (p *Provider) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != p.ClientID {
		http.Error(w, "Invalid client_id", http.StatusBadRequest)
		return
	}
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
		http.Error(w, "invalid redirect_uri or missing PKCE S256 challenge", http.StatusBadRequest)
		return
	}
	code := randomToken()
	p.mu.Lock()
	p.codes[code] = grant{challenge: q.Get("code_challenge"), nonce: q.Get("nonce")}
	state := q.Get("state")
	if p.forgeState {
		state = "forged"
	}
	p.mu.Unlock()
	if redirect.String() == OOBRedirectURL {
		_, _ = fmt.Fprint(w, code)
		return
	}
	v := redirect.Query()
	v.Set("code", code)
	v.Set("state", state)
	redirect.RawQuery = v.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

func (p *Provider) serveDeviceCode(w http.ResponseWriter, r *http.Request) {
	if !p.clientOK(r) {
		oauthError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	device := randomToken()
	p.mu.Lock()
	p.devices[device] = &grant{challenge: r.PostForm.Get("code_challenge")}
	p.mu.Unlock()
	writeJSON(w, map[string]any{
		"device_code": device, "user_code": "ABCD-EFGH", "verification_uri": p.URL + "/device",
		"expires_in": 300, "interval": 1,
	})
}

func (p *Provider) clientOK(r *http.Request) bool {
	if err := r.ParseForm(); err != nil {
		return false
	}
	id, _, ok := r.BasicAuth()
	if !ok {
		id = r.PostForm.Get("client_id")
	}
	return id == p.ClientID
}

func (p *Provider) serveToken(w http.ResponseWriter, r *http.Request) {
	if !p.clientOK(r) {
		oauthError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	f := r.PostForm
	p.mu.Lock()
	defer p.mu.Unlock()
	switch f.Get("grant_type") {
	case "authorization_code":
		g, ok := p.codes[f.Get("code")]
		delete(p.codes, f.Get("code"))
		if !ok || !verifierMatches(f.Get("code_verifier"), g.challenge) {
			oauthError(w, http.StatusBadRequest, "invalid_grant")
			return
		}
		p.logins++
		p.issue(w, g.nonce)
	case "refresh_token":
		if !p.refresh[f.Get("refresh_token")] {
			oauthError(w, http.StatusBadRequest, "invalid_grant")
			return
		}
		delete(p.refresh, f.Get("refresh_token")) // rotate, as Dex does
		p.refreshes++
		p.issue(w, "")
	case "urn:ietf:params:oauth:grant-type:device_code":
		p.serveDeviceToken(w, f)
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type")
	}
}

// serveDeviceToken answers "pending" once, so the client's polling is exercised.
func (p *Provider) serveDeviceToken(w http.ResponseWriter, f url.Values) {
	g, ok := p.devices[f.Get("device_code")]
	switch {
	case !ok || !verifierMatches(f.Get("code_verifier"), g.challenge):
		oauthError(w, http.StatusBadRequest, "invalid_grant")
	case !g.polled:
		g.polled = true
		oauthError(w, http.StatusBadRequest, "authorization_pending")
	default:
		delete(p.devices, f.Get("device_code"))
		p.logins++
		p.issue(w, "")
	}
}

// issue writes a token response; p.mu is held.
func (p *Provider) issue(w http.ResponseWriter, nonce string) {
	claims := p.Claims("alice", p.ClientID, p.ttl)
	claims["email"] = "alice@example.com"
	claims["groups"] = []string{"devs"}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	if p.mutate != nil {
		p.mutate(claims)
	}
	refresh := randomToken()
	p.refresh[refresh] = true
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, map[string]any{
		"access_token": randomToken(), "token_type": "Bearer", "expires_in": int(p.ttl.Seconds()),
		"refresh_token": refresh, "id_token": p.Sign(p.t, claims),
	})
}

func verifierMatches(verifier, challenge string) bool {
	sum := sha256.Sum256([]byte(verifier))
	return verifier != "" && base64.RawURLEncoding.EncodeToString(sum[:]) == challenge
}

func oauthError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code})
}

func randomToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
