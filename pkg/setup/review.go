package setup

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aksoidc/aksoidc/internal/trustroots"
)

// Identity is who the API server, through the proxy, takes the user for.
type Identity struct {
	Username string              `json:"username"`
	UID      string              `json:"uid,omitempty"`
	Groups   []string            `json:"groups,omitempty"`
	Extra    map[string][]string `json:"extra,omitempty"`
}

// SelfSubjectReview asks server who token belongs to: the answer shows the
// identity after the proxy's claim mappings and prefixes.
func SelfSubjectReview(ctx context.Context, server string, caPEM []byte, token string) (Identity, error) {
	pool, err := trustroots.Pool(caPEM)
	if err != nil {
		return Identity{}, fmt.Errorf("the proxy's CA: %w", err)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, Proxy: http.ProxyFromEnvironment}
	defer tr.CloseIdleConnections()
	url := strings.TrimSuffix(server, "/") + "/apis/authentication.k8s.io/v1/selfsubjectreviews"
	body := []byte(`{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}`)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return Identity{}, fmt.Errorf("self subject review: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := (&http.Client{Transport: tr, Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return Identity{}, fmt.Errorf("self subject review at %s: %w", server, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Identity{}, fmt.Errorf("self subject review at %s: %w", server, err)
	}
	if resp.StatusCode == http.StatusUnauthorized {
		return Identity{}, &RefusedError{Server: server, Message: statusMessage(b)}
	}
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return Identity{}, fmt.Errorf("self subject review at %s: HTTP %d %s: %s", server, resp.StatusCode, http.StatusText(resp.StatusCode), statusMessage(b))
	}
	var out struct {
		Status struct {
			UserInfo Identity `json:"userInfo"`
		} `json:"status"`
	}
	if err := json.Unmarshal(b, &out); err != nil || out.Status.UserInfo.Username == "" {
		return Identity{}, errors.New("self subject review: the answer holds no user")
	}
	return out.Status.UserInfo, nil
}

// RefusedError is SelfSubjectReview's error when the proxy did not accept the token
// (HTTP 401): the caller may know more about why.
type RefusedError struct {
	Server string
	// Message is the Status message, quoted.
	Message string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("self subject review at %s: HTTP 401 Unauthorized: %s", e.Server, e.Message)
}

// statusMessage takes the message of a Kubernetes Status body, quoted: it is
// the server's text, bound for the user's terminal.
func statusMessage(b []byte) string {
	var s struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(b, &s) == nil && s.Message != "" {
		return strconv.Quote(s.Message)
	}
	return "no Status message"
}
