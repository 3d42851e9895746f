#!/usr/bin/env bash
# Packages charts/aksoidc-proxy for a release: chart version VERSION, appVersion
# and the Artifact Hub image annotation vVERSION (the image tag goreleaser
# pushes is the git tag, with its "v"), artifacthub.io/prerelease true for a
# version with a pre-release part. The chart in the tree is left alone.
#
# Usage: hack/chart-package.sh VERSION DEST_DIR   (VERSION: semver without "v")
# Prints the package's path. HELM overrides the pinned helm (the release
# workflow sets up its own).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=hack/tools/versions.env
source hack/tools/versions.env
HELM=${HELM:-${AKSOIDC_TOOL_CACHE:-$HOME/.cache/aksoidc}/helm-$HELM_VERSION/helm}
IMAGE=ghcr.io/aksoidc/aksoidc-proxy

die() {
	echo "chart-package: $*" >&2
	exit 1
}

[[ $# -eq 2 ]] || die "usage: hack/chart-package.sh VERSION DEST_DIR"
version=$1 dest=$2
semver='^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$'
[[ $version =~ $semver ]] || die "VERSION '$version' is not semver without a leading v"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -R charts/aksoidc-proxy "$tmp/"
chart=$tmp/aksoidc-proxy/Chart.yaml
sed -i "s|^\(      image: $IMAGE:\).*|\1v$version|" "$chart"
grep -qx "      image: $IMAGE:v$version" "$chart" || die "no artifacthub.io/images entry for $IMAGE in $chart"
prerelease=false
[[ $version != *-* ]] || prerelease=true
sed -i "s|^\(  artifacthub.io/prerelease:\).*|\1 \"$prerelease\"|" "$chart"
grep -qx "  artifacthub.io/prerelease: \"$prerelease\"" "$chart" || die "no artifacthub.io/prerelease annotation in $chart"
mkdir -p "$dest"
"$HELM" package "$tmp/aksoidc-proxy" --version "$version" --app-version "v$version" --destination "$dest" >/dev/null
pkg=$dest/aksoidc-proxy-$version.tgz
[[ -f $pkg ]] || die "helm package did not write $pkg"
echo "$pkg"
