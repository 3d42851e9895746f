// Package setup does the one-time work behind `kubectl aksoidc setup`: it
// reads a proxy's discovery document over TLS (verified, or trusted on first
// use after the user accepted its fingerprint), asks the proxy who a token
// maps to, and merges a cluster, user and context into a kubeconfig.
package setup
