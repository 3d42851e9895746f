// Package soak holds the long-run tests of aksoidc-proxy: the proxy runs as a built binary, so
// that the resident memory, goroutines and file descriptors read from /proc and its /metrics are
// its own, in front of the real kube-apiserver and etcd (test/kubetest), a loopback kubelet
// (test/kubelettest) serving a pod's logs, exec and port-forward, and a test issuer
// (test/oidctest), all on 127.0.0.1. Each scenario prints its figures; `make test` runs a short
// version of each, `make soak` (hack/soak.sh, SOAK=1) the long ones.
package soak
