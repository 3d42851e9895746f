// Package login hands kubectl a valid OIDC token: from the token cache when it
// has one with enough time left, by refreshing it, or by signing the user in
// with the authorization-code flow (PKCE, loopback redirect), the keyboard
// variant of it, or the device-code flow. Every new ID token is verified
// against the issuer's keys before it is cached.
package login
