#!/usr/bin/env bash
# The long runs of test/soak (make soak): the built proxy in front of the real kube-apiserver
# on 127.0.0.1 (with a loopback kubelet, test/kubelettest, for logs -f, exec and port-forward
# sessions), each scenario printing a "soak: <scenario>: key=value ..." line of figures.
# Knobs: SOAK_WATCHES (5000), SOAK_WATCH_CONNECTIONS (25), SOAK_DURATION (10m),
# SOAK_PROFILE_DIR (heap and goroutine profiles of the proxy, for go tool pprof),
# SOAK_RUN (a go test -run pattern, default every scenario). `make test` runs short versions.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export SOAK=1
out=$(mktemp)
trap 'rm -f "$out"' EXIT
status=0
go test -count=1 -v -timeout 90m -run "${SOAK_RUN:-.}" ./test/soak/ | tee "$out" || status=$?
echo
echo "figures:"
grep '^soak:' "$out" || true
exit "$status"
