package login

import (
	"errors"
	"fmt"

	"golang.org/x/oauth2"
)

// endpointError shortens an OAuth error response to one line. x/oauth2 puts
// the whole response body in its message, which may span lines. The error
// code and description are the identity provider's text: they are escaped
// and quoted, so that they cannot drive the terminal the error is printed on.
type endpointError struct {
	re *oauth2.RetrieveError
}

func (e endpointError) Error() string {
	status := 0
	if e.re.Response != nil {
		status = e.re.Response.StatusCode
	}
	if e.re.ErrorCode == "" {
		return fmt.Sprintf("the token endpoint answered HTTP %d", status)
	}
	if e.re.ErrorDescription == "" {
		return fmt.Sprintf("the token endpoint answered HTTP %d %s", status, EscapeControl(e.re.ErrorCode))
	}
	return fmt.Sprintf("the token endpoint answered HTTP %d %s: %q", status, EscapeControl(e.re.ErrorCode), e.re.ErrorDescription)
}

func (e endpointError) Unwrap() error { return e.re }

func shortenEndpointError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return endpointError{re: re}
	}
	return err
}
