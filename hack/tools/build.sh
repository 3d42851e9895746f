#!/usr/bin/env bash
# Builds the pinned tools into $HOME/.cache/aksoidc/<family>-<version>/.
#
# Usage: hack/tools/build.sh [family...]   (default: every family)
#
# Each family has its own Go module under hack/tools/<family>/ so that tool
# dependencies never leak into the project's go.mod. Versions come from
# hack/tools/versions.env only; this script refuses to build when a module's
# go.mod disagrees with it. A family is skipped when its cache dir already
# holds every binary. Builds go to a temp dir that is renamed into place, so an
# interrupted build never leaves a half-filled cache dir.
#
# Adding a family: create hack/tools/<family>/ (go.mod + go.sum with `tool`
# directives), add its version to versions.env, write spec_<family> and
# build_<family> below and append it to FAMILIES.
set -euo pipefail

TOOLS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE_ROOT=${AKSOIDC_TOOL_CACHE:-$HOME/.cache/aksoidc}
FAMILIES=(dex k8s golangci-lint helm kubeconform goreleaser krew syft cosign registry actionlint)

# shellcheck source=versions.env
source "$TOOLS_DIR/versions.env"

export CGO_ENABLED=${CGO_ENABLED:-1}
export GOFLAGS="-buildvcs=false -mod=readonly"

die() {
	echo "build.sh: $*" >&2
	exit 1
}

# A spec_<family> function sets:
#   DIR_NAME  name of the cache dir under $CACHE_ROOT
#   BINARIES  binaries the cache dir must hold
#   REQUIRES  "module version" pairs the family's go.mod must require or
#             replace to, exactly
spec_dex() {
	DIR_NAME="dex-$DEX_VERSION"
	BINARIES=(dex)
	REQUIRES=("github.com/dexidp/dex $DEX_VERSION")
}

build_dex() {
	go build -trimpath -ldflags "-s -w -X main.version=$DEX_VERSION" \
		-o "$1/dex" github.com/dexidp/dex/cmd/dex
}

# The k8s.io staging modules are pinned with replace directives to the
# v0.<minor>.<patch> release matching K8S_VERSION (k8s.io/kubernetes requires
# them at v0.0.0).
K8S_STAGING=(api apiextensions-apiserver apimachinery apiserver cli-runtime client-go
	cloud-provider cluster-bootstrap code-generator component-base component-helpers
	controller-manager cri-api cri-client cri-streaming csi-translation-lib
	dynamic-resource-allocation endpointslice externaljwt kms kube-aggregator
	kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics mount-utils
	pod-security-admission sample-apiserver streaming)

spec_k8s() {
	DIR_NAME="k8s-$K8S_VERSION-etcd-$ETCD_VERSION"
	BINARIES=(kube-apiserver etcd kubectl)
	REQUIRES=("k8s.io/kubernetes $K8S_VERSION" "go.etcd.io/etcd/server/v3 $ETCD_VERSION")
	local staging="v0.${K8S_VERSION#v1.}" m
	for m in "${K8S_STAGING[@]}"; do
		REQUIRES+=("k8s.io/$m $staging")
	done
}

build_k8s() {
	local x="-X k8s.io/component-base/version" y="-X k8s.io/client-go/pkg/version"
	local flags="-s -w $x.gitVersion=$K8S_VERSION $y.gitVersion=$K8S_VERSION"
	flags+=" $x.gitMajor=1 $y.gitMajor=1 $x.gitMinor=$(minor "$K8S_VERSION")"
	flags+=" $y.gitMinor=$(minor "$K8S_VERSION") $x.gitTreeState=clean $y.gitTreeState=clean"
	go build -trimpath -ldflags "$flags" -o "$1/" \
		k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl
	go build -trimpath -ldflags "-s -w" -o "$1/etcd" go.etcd.io/etcd/server/v3
}

minor() {
	local v=${1#v*.}
	echo "${v%%.*}"
}

spec_golangci_lint() {
	DIR_NAME="golangci-lint-$GOLANGCI_LINT_VERSION"
	BINARIES=(golangci-lint)
	REQUIRES=("github.com/golangci/golangci-lint/v2 $GOLANGCI_LINT_VERSION")
}

build_golangci_lint() {
	go build -trimpath -ldflags "-s -w -X main.version=${GOLANGCI_LINT_VERSION#v}" \
		-o "$1/golangci-lint" github.com/golangci/golangci-lint/v2/cmd/golangci-lint
}

spec_goreleaser() {
	DIR_NAME="goreleaser-$GORELEASER_VERSION"
	BINARIES=(goreleaser)
	REQUIRES=("github.com/goreleaser/goreleaser/v2 $GORELEASER_VERSION")
}

# goreleaser stamps its version through main.version (without the "v").
build_goreleaser() {
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${GORELEASER_VERSION#v}" \
		-o "$1/goreleaser" github.com/goreleaser/goreleaser/v2
}

spec_krew() {
	DIR_NAME="krew-$KREW_VERSION"
	BINARIES=(krew validate-krew-manifest)
	REQUIRES=("sigs.k8s.io/krew $KREW_VERSION")
}

build_krew() {
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X sigs.k8s.io/krew/internal/version.gitTag=$KREW_VERSION" \
		-o "$1/" sigs.k8s.io/krew/cmd/krew sigs.k8s.io/krew/cmd/validate-krew-manifest
}

spec_helm() {
	DIR_NAME="helm-$HELM_VERSION"
	BINARIES=(helm)
	REQUIRES=("helm.sh/helm/v3 $HELM_VERSION")
}

# As helm's own Makefile does, the Kubernetes version `helm template` and `helm
# lint` assume comes from the client-go it is built with (v0.X.Y means 1.X);
# without it they assume v1.20.0.
build_helm() {
	local cg flags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" p
	cg=$(go list -m -f '{{.Version}}' k8s.io/client-go)
	for p in pkg/lint/rules pkg/chartutil; do
		flags+=" -X helm.sh/helm/v3/$p.k8sVersionMajor=1 -X helm.sh/helm/v3/$p.k8sVersionMinor=$(minor "$cg")"
	done
	CGO_ENABLED=0 go build -trimpath -ldflags "$flags" -o "$1/helm" helm.sh/helm/v3/cmd/helm
}

# kubeconform's cache dir also holds strict per-kind JSON schemas generated
# offline from k8s.io/kubernetes's api/openapi-spec at K8S_VERSION (kubeconform
# would download them otherwise), so it is named after both versions.
spec_kubeconform() {
	DIR_NAME="kubeconform-$KUBECONFORM_VERSION-k8s-$K8S_VERSION"
	BINARIES=(kubeconform schemagen)
	REQUIRES=("github.com/yannh/kubeconform $KUBECONFORM_VERSION")
}

# schemagen (hack/tools/kubeconform/schemagen) also stays in the cache dir:
# hack/chart-check.sh converts CRDs with it.
build_kubeconform() {
	go build -trimpath -ldflags "-s -w -X main.version=$KUBECONFORM_VERSION" \
		-o "$1/kubeconform" github.com/yannh/kubeconform/cmd/kubeconform
	go build -trimpath -ldflags "-s -w" -o "$1/schemagen" ./schemagen
	local k8s
	k8s=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
	[[ -n $k8s ]] || die "cannot find k8s.io/kubernetes@$K8S_VERSION in the module cache"
	"$1/schemagen" -swagger "$k8s/api/openapi-spec/swagger.json" -out "$1/schemas"
}

# syft: goreleaser's `sboms:` runs it on every archive (hack/release-check.sh
# puts this dir on PATH).
spec_syft() {
	DIR_NAME="syft-$SYFT_VERSION"
	BINARIES=(syft)
	REQUIRES=("github.com/anchore/syft $SYFT_VERSION")
}

build_syft() {
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${SYFT_VERSION#v}" \
		-o "$1/syft" github.com/anchore/syft/cmd/syft
}

# cosign: goreleaser's `signs:` runs it on checksums.txt; the release check
# signs with a throw-away key and verifies.
spec_cosign() {
	DIR_NAME="cosign-$COSIGN_VERSION"
	BINARIES=(cosign)
	REQUIRES=("github.com/sigstore/cosign/v3 $COSIGN_VERSION")
}

build_cosign() {
	CGO_ENABLED=0 go build -trimpath \
		-ldflags "-s -w -X sigs.k8s.io/release-utils/version.gitVersion=$COSIGN_VERSION" \
		-o "$1/cosign" github.com/sigstore/cosign/v3/cmd/cosign
}

# registry: go-containerregistry's in-memory OCI registry, served by `crane
# registry serve --address 127.0.0.1:0` (its cmd/registry binds localhost,
# which may be ::1, and injects random warnings); the release check pushes the
# chart to it.
spec_registry() {
	DIR_NAME="registry-$REGISTRY_VERSION"
	BINARIES=(crane)
	REQUIRES=("github.com/google/go-containerregistry $REGISTRY_VERSION")
}

build_registry() {
	CGO_ENABLED=0 go build -trimpath \
		-ldflags "-s -w -X github.com/google/go-containerregistry/cmd/crane/cmd.Version=$REGISTRY_VERSION" \
		-o "$1/crane" github.com/google/go-containerregistry/cmd/crane
}

# actionlint checks .github/workflows offline (`make lint`).
spec_actionlint() {
	DIR_NAME="actionlint-$ACTIONLINT_VERSION"
	BINARIES=(actionlint)
	REQUIRES=("github.com/rhysd/actionlint $ACTIONLINT_VERSION")
}

build_actionlint() {
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/rhysd/actionlint.version=$ACTIONLINT_VERSION" \
		-o "$1/actionlint" github.com/rhysd/actionlint/cmd/actionlint
}

# check_requires fails unless the module builds every REQUIRES pair at exactly
# that version: the selected version from go.mod, or its replace target.
check_requires() {
	local moddir=$1 pair mod want got
	for pair in "${REQUIRES[@]}"; do
		mod=${pair% *}
		want=${pair#* }
		got=$(cd "$moddir" && go list -m -f '{{with .Replace}}{{.Version}}{{else}}{{.Version}}{{end}}' "$mod") ||
			die "$moddir/go.mod does not require $mod (versions.env wants $want)"
		if [[ $got != "$want" ]]; then
			die "$moddir/go.mod pins $mod at '$got' but versions.env says $want"
		fi
	done
}

has_binaries() {
	local b
	for b in "${BINARIES[@]}"; do
		[[ -x $1/$b ]] || return 1
	done
}

build_family() {
	local family=$1 fn=${1//-/_} moddir="$TOOLS_DIR/$1"
	declare -F "spec_$fn" >/dev/null || die "unknown tool family '$family' (known: ${FAMILIES[*]})"
	[[ -f $moddir/go.mod ]] || die "missing $moddir/go.mod"
	"spec_$fn"
	check_requires "$moddir"
	local dest="$CACHE_ROOT/$DIR_NAME"
	if has_binaries "$dest"; then
		echo "skipped $family: $dest already holds ${BINARIES[*]}"
		return
	fi
	mkdir -p "$CACHE_ROOT"
	TMP=$(mktemp -d "$CACHE_ROOT/.build-$family-XXXXXX")
	local start=$SECONDS
	echo "building $family into $dest ..."
	(cd "$moddir" && "build_$fn" "$TMP") || die "building $family failed"
	local b
	for b in "${BINARIES[@]}"; do
		[[ -x $TMP/$b ]] || die "building $family did not produce $b"
	done
	chmod 0755 "$TMP"
	# Another build may have won the race; its result is as good as ours. A dir
	# that still lacks a binary is an older build of this version, from before the
	# family grew one: ours replaces it.
	if ! mv -T "$TMP" "$dest" 2>/dev/null && ! has_binaries "$dest"; then
		local old
		old=$(mktemp -d "$CACHE_ROOT/.old-$family-XXXXXX")
		mv -T "$dest" "$old/dir" || die "cannot move $dest aside"
		mv -T "$TMP" "$dest" || die "cannot move $TMP to $dest"
		rm -rf "$old"
	fi
	rm -rf "$TMP"
	TMP=
	echo "built $family in $((SECONDS - start))s: $dest"
}

TMP=
trap '[[ -z $TMP ]] || rm -rf "$TMP"' EXIT

main() {
	local families=("$@") f
	[[ $# -gt 0 ]] || families=("${FAMILIES[@]}")
	for f in "${families[@]}"; do
		build_family "$f"
	done
}

main "$@"
