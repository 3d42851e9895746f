package login

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestEscapeControl(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, in, want string }{
		{"printable text stays", "Alice O'Brien <alice@example.com> 日本語", "Alice O'Brien <alice@example.com> 日本語"},
		{"CSI clears the screen", "alice\x1b[2J\x1b[H", `alice\x1b[2J\x1b[H`},
		{"OSC sets the title", "\x1b]0;pwned\a", `\x1b]0;pwned\a`},
		{"line breaks and tabs", "a\nb\r\tc", `a\nb\r\tc`},
		{"DEL and C1", "\x7f\u009b", `\x7f\u009b`},
		{"bidi override", "evil\u202etxt.exe", `evil\u202etxt.exe`},
		{"invalid UTF-8", "a\xffb", `a\xffb`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tc.want, EscapeControl(tc.in)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
