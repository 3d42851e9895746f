package login

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// preflight sends the authorization request once without a browser. An
// issuer that refuses the request (an unknown client ID, a redirect URI it
// does not allow) answers with an error page and never redirects back, so
// without this check the user would only see the login time out. Redirects
// are followed only below the authorization endpoint (Dex sends /auth to
// /auth/<connector>, where it checks the client), never towards a login
// callback, so the check itself cannot complete a login.
func (c *client) preflight(ctx context.Context, authURL string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authURL, nil)
	if err != nil {
		return fmt.Errorf("authorization request: %w", err)
	}
	hc := *c.hc
	hc.CheckRedirect = func(next *http.Request, via []*http.Request) error {
		if len(via) < 5 && next.URL.Host == req.URL.Host && strings.HasPrefix(next.URL.Path, req.URL.Path) {
			return nil
		}
		return http.ErrUseLastResponse
	}
	resp, err := hc.Do(req)
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err // its URL is long and says nothing new
	}
	if err != nil {
		return fmt.Errorf("authorization request to %s: %w", req.URL.Host, err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode >= http.StatusBadRequest {
		// The status text is Go's, not the reason phrase the issuer sent.
		return fmt.Errorf("the issuer refused the authorization request (HTTP %d %s): check --client-id and the redirect URIs the client allows",
			resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	return nil
}
