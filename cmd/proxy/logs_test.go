package main

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aksoidc/aksoidc/test/kubetest"
	"github.com/aksoidc/aksoidc/test/oidctest"
)

// testLogsHoldNoSecrets runs the proxy at --log-level=debug with its own service-account token
// and passthrough on, sends it good, bad and refused requests carrying tokens in every place a
// client can put one, and wants none of them, nor the proxy's own token, in its log.
func testLogsHoldNoSecrets(t *testing.T, cluster *kubetest.Cluster, iss *oidctest.Issuer) {
	apiserver := strings.TrimSuffix(cluster.Admin.Host, "/")
	own := serviceAccountToken(t, cluster, "default", "log-test-proxy", kubetest.ProxyUser)
	p := startProxy(t, writeKubeconfig(t, apiserver, cluster.Admin.CAData, own),
		append(oidcFlags(iss, "oidc:"), "--token-passthrough", "--log-level=debug")...)
	clients := map[string]string{
		"valid OIDC token":      aliceToken(t, iss, nil),
		"expired token":         aliceToken(t, iss, func(c map[string]any) { c["exp"] = time.Now().Add(-time.Minute).Unix() }),
		"wrong audience":        aliceToken(t, iss, func(c map[string]any) { c["aud"] = "elsewhere" }),
		"alg none":              iss.SignMode(t, oidctest.None, iss.Claims("alice", "kubernetes", time.Hour)),
		"service-account token": serviceAccountToken(t, cluster, "team-a", "log-test-ci", ""),
		"not a JWT":             "opaque-secret-0123456789abcdef",
	}
	for _, token := range clients {
		for _, h := range []http.Header{
			{"Authorization": {"Bearer " + token}},
			{"Authorization": {"Bearer " + token}, "Impersonate-User": {"admin"}},
			{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte("alice:"+token))}},
			{"Sec-Websocket-Protocol": {"v5.channel.k8s.io, base64url.bearer.authorization.k8s.io." + base64.RawURLEncoding.EncodeToString([]byte(token))}},
		} {
			status(t, p, h)
		}
	}
	logs := p.Logs.String()
	for _, want := range []string{`"msg":"authentication failed"`, `"msg":"refused client impersonation"`, `"status":200`} {
		if !strings.Contains(logs, want) {
			t.Fatalf("the log lacks %s, so this test would prove nothing:\n%s", want, logs)
		}
	}
	clients["the proxy's own token"] = own
	for name, token := range clients {
		for _, s := range secretParts(token) {
			if strings.Contains(logs, s) {
				t.Errorf("the log holds part of the %s (%.12s...)", name, s)
			}
		}
	}
}

// secretParts are the pieces of a token a log could leak: the whole, each JWT segment and the
// encodings a client may send it in.
func secretParts(token string) []string {
	parts := []string{token, base64.StdEncoding.EncodeToString([]byte("alice:" + token)), base64.RawURLEncoding.EncodeToString([]byte(token))}
	for _, segment := range strings.Split(token, ".") {
		if len(segment) > 8 {
			parts = append(parts, segment)
		}
	}
	return parts
}
