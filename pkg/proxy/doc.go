// Package proxy is the HTTP side of aksoidc-proxy: it authenticates each request's bearer token
// (package authn), refuses client impersonation, and forwards the request to the Kubernetes API
// server as the authenticated user through impersonation, streaming watches, logs and upgraded
// connections (exec, attach, port-forward) as they come.
package proxy
