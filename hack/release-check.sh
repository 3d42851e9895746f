#!/usr/bin/env bash
# Checks the release configuration end to end without publishing anything:
# goreleaser check, a snapshot release into dist/ (every archive, an SPDX SBOM
# per archive from syft, checksums.txt signed by cosign with a throw-away key,
# the krew, Homebrew, Scoop and winget manifests; no container image, as no
# Docker engine runs here), then:
# - cosign verify-blob of the checksums' bundle with the throw-away public
#   key, and a tampered checksums.txt refused;
# - hack/releasecheck: an SBOM per archive, the cask's, Scoop's and winget's
#   URLs and hashes against checksums.txt;
# - krew's manifest validation, a krew install of the host's archive into a
#   throwaway KREW_ROOT and the installed plugin's `version`;
# - the Helm chart packaged with the release's version (dist/chart/), pushed
#   to go-containerregistry's registry on 127.0.0.1 and used from there by
#   helm pull/show/template/install --dry-run=server against a real
#   kube-apiserver (test/release's TestChartOCIRoundTrip).
#
# Works in a fresh clone without tags or a remote (CI=true): the snapshot's
# version comes from .goreleaser.yaml's snapshot.version_template.
#
# Usage: hack/release-check.sh   (run by `make release-check` and `make test`)
# RELEASE_CHECK_PARALLELISM sets goreleaser's --parallelism (default 2).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=hack/tools/versions.env
source hack/tools/versions.env
CACHE_ROOT=${AKSOIDC_TOOL_CACHE:-$HOME/.cache/aksoidc}
GORELEASER=$CACHE_ROOT/goreleaser-$GORELEASER_VERSION/goreleaser
KREW=$CACHE_ROOT/krew-$KREW_VERSION/krew
VALIDATE_KREW_MANIFEST=$CACHE_ROOT/krew-$KREW_VERSION/validate-krew-manifest
COSIGN=$CACHE_ROOT/cosign-$COSIGN_VERSION/cosign
MANIFEST=dist/krew/aksoidc.yaml

die() {
	echo "release-check: $*" >&2
	exit 1
}

step() {
	echo "release-check: $*" >&2
}

# metadata_field prints a top-level string field of dist/metadata.json.
metadata_field() {
	sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" dist/metadata.json
}

# check_archive fails unless the archive exists, is in checksums.txt and holds
# the binary, LICENSE and README.md.
check_archive() {
	local archive=$1 binary=$2 entries f
	[[ -f dist/$archive ]] || die "goreleaser did not produce dist/$archive"
	grep -q "  $archive\$" dist/checksums.txt || die "dist/checksums.txt does not list $archive"
	case $archive in
	*.zip) entries=$(LC_ALL=C grep -ao "$binary\|LICENSE\|README\.md" "dist/$archive") ;;
	*) entries=$(tar -tzf "dist/$archive") ;;
	esac
	for f in "$binary" LICENSE README.md; do
		grep -qx "$f" <<<"$entries" || die "dist/$archive does not contain $f"
	done
}

check_archives() {
	local os arch ext bin
	for os in linux darwin windows; do
		for arch in amd64 arm64; do
			ext=tar.gz bin=kubectl-aksoidc
			[[ $os != windows ]] || ext=zip bin=kubectl-aksoidc.exe
			check_archive "kubectl-aksoidc_${os}_$arch.$ext" "$bin"
		done
	done
	for arch in amd64 arm64; do
		check_archive "aksoidc-proxy_linux_$arch.tar.gz" aksoidc-proxy
	done
}

# check_version runs `BINARY version` and compares its output exactly.
check_version() {
	local got
	got=$("$1" version) || die "$1 version failed"
	[[ $got == "$2" ]] || die "$1 version printed '$got', want '$2'"
	step "$1 version: $got"
}

# goreleaser reads the commit, its date and the tags from git, but gives up on
# all of it (commit "none") when `git ls-remote --get-url` fails, as in a
# checkout without a remote. Name one through the environment then, leaving
# .git/config alone.
default_remote() {
	git ls-remote --get-url >/dev/null 2>&1 && return
	export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=remote.origin.url
	export GIT_CONFIG_VALUE_0=https://github.com/aksoidc/aksoidc.git
}

# throwaway_key has .goreleaser.yaml's signs sign offline with a new key pair
# in dir (see the comment there): no transparency log, no TUF repository.
throwaway_key() {
	local dir=$1
	COSIGN_PASSWORD=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
	export COSIGN_PASSWORD
	(cd "$dir" && "$COSIGN" generate-key-pair --output-key-prefix release-check >/dev/null)
	"$COSIGN" signing-config create --out "$dir/signing-config.json"
	"$COSIGN" trusted-root create --out "$dir/trusted-root.json"
	export COSIGN_KEY=$dir/release-check.key COSIGN_SIGNING_CONFIG=$dir/signing-config.json
	export COSIGN_TRUSTED_ROOT=$dir/trusted-root.json
}

# verify_checksums verifies the bundle of checksums.txt with the public key,
# then that checksums.txt with a line added fails the same verification.
verify_checksums() {
	local dir=$1 bundle=dist/checksums.txt.sigstore.json
	[[ -f $bundle ]] || die "goreleaser did not sign dist/checksums.txt into $bundle"
	local verify=("$COSIGN" verify-blob --key "$dir/release-check.pub" --bundle "$bundle"
		--trusted-root "$COSIGN_TRUSTED_ROOT" --insecure-ignore-tlog)
	step "cosign verify-blob --bundle $bundle dist/checksums.txt"
	"${verify[@]}" dist/checksums.txt 2>&1 | grep -qx "Verified OK" || die "cosign does not verify dist/checksums.txt"
	{ cat dist/checksums.txt && printf '%064d  kubectl-aksoidc_linux_amd64.tar.gz\n' 0; } >"$dir/tampered.txt"
	if "${verify[@]}" "$dir/tampered.txt" >/dev/null 2>&1; then
		die "cosign verified a tampered checksums.txt with the bundle of the real one"
	fi
}

# check_chart packages the chart with the release's version and has
# TestChartOCIRoundTrip push it to a real registry and install it from there.
check_chart() {
	local version=$1 pkg
	pkg=$(hack/chart-package.sh "$version" dist/chart)
	step "helm chart $pkg through an OCI registry on 127.0.0.1"
	AKSOIDC_RELEASE_CHART=$PWD/$pkg go test -count=1 -run '^TestChartOCIRoundTrip$' ./test/release
}

main() {
	hack/tools/build.sh goreleaser krew syft cosign registry helm k8s
	default_remote
	local work
	work=$(mktemp -d)
	# shellcheck disable=SC2064 # expand now: work is local
	trap "rm -rf '$work'" EXIT
	export PATH="$CACHE_ROOT/syft-$SYFT_VERSION:$CACHE_ROOT/cosign-$COSIGN_VERSION:$PATH"
	throwaway_key "$work"

	step "goreleaser check"
	"$GORELEASER" check

	step "goreleaser release --snapshot"
	"$GORELEASER" release --snapshot --clean --skip=publish,docker \
		--parallelism "${RELEASE_CHECK_PARALLELISM:-2}"
	check_archives
	verify_checksums "$work"

	local version commit date
	version=$(metadata_field version)
	commit=$(metadata_field commit)
	[[ -n $version && -n $commit ]] || die "no version or commit in dist/metadata.json"
	# goreleaser's {{ .CommitDate }}: the committer date, RFC 3339 in UTC.
	date=$(TZ=UTC0 git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ "$commit")
	local want="v$version (commit ${commit:0:7}, built $date)"

	step "releasecheck: SBOMs, Homebrew, Scoop and winget manifests"
	go run ./hack/releasecheck -dist dist -version "$version" -tag "$(metadata_field tag)"

	step "validate-krew-manifest $MANIFEST"
	"$VALIDATE_KREW_MANIFEST" -manifest "$MANIFEST" -skip-install
	grep -qx "  version: v$version" "$MANIFEST" || die "$MANIFEST does not have version v$version"

	local os arch krew_root=$work/krew
	os=$(go env GOHOSTOS)
	arch=$(go env GOHOSTARCH)
	step "krew install --manifest=$MANIFEST --archive=dist/kubectl-aksoidc_${os}_$arch.tar.gz"
	KREW_ROOT=$krew_root "$KREW" install --manifest="$MANIFEST" \
		--archive="dist/kubectl-aksoidc_${os}_$arch.tar.gz" </dev/null
	check_version "$krew_root/bin/kubectl-aksoidc" "kubectl-aksoidc $want"

	if [[ $os == linux ]]; then
		local proxy
		proxy=$(compgen -G "dist/aksoidc-proxy_linux_${arch}*/aksoidc-proxy") ||
			die "no dist/aksoidc-proxy_linux_$arch*/aksoidc-proxy"
		check_version "$proxy" "aksoidc-proxy $want"
	fi
	check_chart "$version"
	step "ok: $version"
}

main "$@"
