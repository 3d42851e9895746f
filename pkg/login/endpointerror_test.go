package login

import (
	"bytes"
	"errors"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
)

// An identity provider's error reaches the user's terminal: its escape
// sequences must be shown, not obeyed, and the message stays on one line.
func TestEndpointErrorEscapesTheProvidersText(t *testing.T) {
	t.Parallel()
	resp := &http.Response{StatusCode: http.StatusBadRequest}
	cases := []struct {
		name string
		re   *oauth2.RetrieveError
		want string
	}{
		{"description with a terminal escape", &oauth2.RetrieveError{Response: resp, ErrorCode: "invalid_grant",
			ErrorDescription: "expired\x1b]0;pwned\a\x1b[2J\nlog in as admin"},
			`the token endpoint answered HTTP 400 invalid_grant: "expired\x1b]0;pwned\a\x1b[2J\nlog in as admin"`},
		{"code with a terminal escape", &oauth2.RetrieveError{Response: resp, ErrorCode: "bad\x1b[31m"},
			`the token endpoint answered HTTP 400 bad\x1b[31m`},
		{"plain", &oauth2.RetrieveError{Response: resp, ErrorCode: "invalid_grant", ErrorDescription: "Token is not active"},
			`the token endpoint answered HTTP 400 invalid_grant: "Token is not active"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := shortenEndpointError(tc.re)
			if diff := cmp.Diff(tc.want, err.Error()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if !errors.Is(err, tc.re) {
				t.Errorf("the error no longer wraps the RetrieveError")
			}
		})
	}
}

func TestLoggerEscapesEachLine(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	Logger{W: &b, Verbosity: 1}.Printf(1, "the refresh token was refused (%s); logging in again", "x\x1b[2J\ny")
	if diff := cmp.Diff("the refresh token was refused (x\\x1b[2J\\ny); logging in again\n", b.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
