#!/usr/bin/env bash
# The CRDs of the exposure kinds the chart renders, copied unchanged into
# test/chart/testdata/crds from the Go modules at the versions pinned here:
#   sigs.k8s.io/gateway-api   config/crd/standard: TLSRoute, HTTPRoute, BackendTLSPolicy
#   github.com/projectcontour/contour  examples/contour/01-crds.yaml: the HTTPProxy document
# The module proxy serves each module with the checksum sum.golang.org holds,
# so a copy is reproducible from the version alone. kubeconform (chart-check)
# and the API server of test/chart validate the chart's objects against them.
#
# Usage: hack/chart-crds.sh          write the copies
#        hack/chart-crds.sh --check  fail when a copy differs from its module
set -euo pipefail

GATEWAY_API_VERSION=v1.6.3 # v1.7.0 needs Go 1.27
CONTOUR_VERSION=v1.33.8

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CRDS=$ROOT/test/chart/testdata/crds
check=false
[[ ${1:-} == --check ]] && check=true

# module_dir MODULE@VERSION: the module's files in the module cache (downloaded once).
module_dir() {
	(cd "$ROOT" && GOFLAGS=-mod=mod go mod download -json "$1") |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'
}

# emit NAME ORIGIN: the header, then the CRD from stdin, into NAME (or compared with it).
emit() {
	local file=$CRDS/$1 want
	want=$(
		printf '# %s, unchanged (Apache-2.0); written by hack/chart-crds.sh.\n' "$2"
		printf '# The chart renders this kind; kubeconform and the API server of test/chart check it.\n---\n'
		cat
	)
	if $check; then
		[[ -f $file ]] && diff -q <(printf '%s\n' "$want") "$file" >/dev/null ||
			{ echo "chart-crds: $file differs from $2; run hack/chart-crds.sh" >&2; exit 1; }
	else
		printf '%s\n' "$want" >"$file"
	fi
}

gw=$(module_dir "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION")
for kind in tlsroutes httproutes backendtlspolicies; do
	f=gateway.networking.k8s.io_$kind.yaml
	sed '/^---$/d' "$gw/config/crd/standard/$f" |
		emit "$f" "sigs.k8s.io/gateway-api $GATEWAY_API_VERSION config/crd/standard/$f"
done

contour=$(module_dir "github.com/projectcontour/contour@$CONTOUR_VERSION")
# 01-crds.yaml holds several CRDs: keep the document named httpproxies.projectcontour.io.
awk 'BEGIN { RS = "\n---\n" } /\n  name: httpproxies\.projectcontour\.io\n/ { printf "%s\n", $0 }' \
	"$contour/examples/contour/01-crds.yaml" |
	emit projectcontour.io_httpproxies.yaml "github.com/projectcontour/contour $CONTOUR_VERSION examples/contour/01-crds.yaml (its httpproxies document)"

$check && echo "chart-crds: the copies match gateway-api $GATEWAY_API_VERSION and contour $CONTOUR_VERSION"
exit 0
