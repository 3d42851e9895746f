package login

import "github.com/aksoidc/aksoidc/internal/termtext"

// EscapeControl is termtext.Escape: text the identity provider or a server
// supplies goes through it before it reaches a terminal.
func EscapeControl(s string) string { return termtext.Escape(s) }
