#!/usr/bin/env bash
# Checks the release configuration end to end without publishing anything:
# goreleaser check, a snapshot release into dist/ (every archive, the krew
# manifest and checksums; no container image, as no Docker engine runs here),
# krew's manifest validation, then a krew install of the host's archive into a
# throwaway KREW_ROOT and the installed plugin's `version`.
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

main() {
	hack/tools/build.sh goreleaser krew
	default_remote

	step "goreleaser check"
	"$GORELEASER" check

	step "goreleaser release --snapshot"
	"$GORELEASER" release --snapshot --clean --skip=publish,docker \
		--parallelism "${RELEASE_CHECK_PARALLELISM:-2}"
	check_archives

	local version commit date
	version=$(metadata_field version)
	commit=$(metadata_field commit)
	[[ -n $version && -n $commit ]] || die "no version or commit in dist/metadata.json"
	# goreleaser's {{ .CommitDate }}: the committer date, RFC 3339 in UTC.
	date=$(TZ=UTC0 git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ "$commit")
	local want="v$version (commit ${commit:0:7}, built $date)"

	step "validate-krew-manifest $MANIFEST"
	"$VALIDATE_KREW_MANIFEST" -manifest "$MANIFEST" -skip-install
	grep -qx "  version: v$version" "$MANIFEST" || die "$MANIFEST does not have version v$version"

	local os arch krew_root
	os=$(go env GOHOSTOS)
	arch=$(go env GOHOSTARCH)
	krew_root=$(mktemp -d)
	# shellcheck disable=SC2064 # expand now: krew_root is local
	trap "rm -rf '$krew_root'" EXIT
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
	step "ok: $version"
}

main "$@"
