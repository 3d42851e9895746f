// Package authn decides who a bearer token belongs to exactly as kube-apiserver's JWT
// authenticator would: it builds kube-apiserver's AuthenticationConfiguration from the --oidc-*
// flags or a file, validates it with k8s.io/apiserver's own validation, verifies tokens with
// k8s.io/apiserver's oidc authenticator behind its token cache, refuses identities the cluster
// reserves, and optionally asks the API server (TokenReview) about tokens no issuer accepts.
package authn
