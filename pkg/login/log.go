package login

import (
	"fmt"
	"io"
)

// Logger writes messages for humans to stderr when the verbosity (-v) is at
// least the message's level. Callers never pass it a token.
type Logger struct {
	W         io.Writer
	Verbosity int
}

// V reports whether messages at level are written.
func (l Logger) V(level int) bool {
	return l.W != nil && l.Verbosity >= level
}

// Printf writes a message at level, with a trailing newline. The message
// is one line with control characters escaped: it may quote what a server
// sent (an error, a status, a URL), which must not drive the terminal.
func (l Logger) Printf(level int, format string, args ...any) {
	if l.V(level) {
		_, _ = fmt.Fprintln(l.W, EscapeControl(fmt.Sprintf(format, args...)))
	}
}
