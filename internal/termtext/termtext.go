// Package termtext is the one rule for text bound for a terminal that a server, an identity
// provider or a file supplied: both binaries escape it before printing it.
package termtext

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Escape returns s with every character that is not printable (C0,
// DEL and C1 controls, bidi overrides and other format characters) and every
// byte that is not UTF-8 written as a Go escape, the way %q writes them. Text
// the identity provider or a server supplies goes through it before it
// reaches a terminal, so an escape sequence in a claim or an error
// description is shown, not obeyed. Printable text, spaces included, is left
// as it is.
func Escape(s string) string {
	if strings.IndexFunc(s, needsEscape) < 0 && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case needsEscape(r):
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func needsEscape(r rune) bool {
	return r != ' ' && !strconv.IsPrint(r)
}
