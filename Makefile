# Tool versions live in hack/tools/versions.env only (KEY=VALUE lines are valid
# make syntax); `make tools` builds them into $(AKSOIDC_TOOL_CACHE).
include hack/tools/versions.env

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := build

AKSOIDC_TOOL_CACHE ?= $(HOME)/.cache/aksoidc
export AKSOIDC_TOOL_CACHE
# CI=true turns a missing tool binary from a skip into a failure (test/tooldir).
export CI

VERSION ?= $(or $(shell git describe --tags --always --dirty 2>/dev/null),dev)
GOLANGCI_LINT := $(AKSOIDC_TOOL_CACHE)/golangci-lint-$(GOLANGCI_LINT_VERSION)/golangci-lint
ACTIONLINT := $(AKSOIDC_TOOL_CACHE)/actionlint-$(ACTIONLINT_VERSION)/actionlint
# Families for `make tools`; empty means all of them.
TOOLS ?=
# `make test` knobs, e.g. `make test PKGS=./test/... TESTFLAGS='-run TestX -v'`.
PKGS ?= ./...
TESTFLAGS ?=
export PKGS TESTFLAGS

.PHONY: tools build test vet lint chart-check release-check bench demo fuzz soak
# Prerequisites run in the order written; go test parallelises by itself.
.NOTPARALLEL:

tools:
	hack/tools/build.sh $(TOOLS)

build:
	go build -trimpath -ldflags "-X github.com/aksoidc/aksoidc/internal/version.Version=$(VERSION)" -o bin/ ./cmd/...

vet:
	go vet ./...

# actionlint checks .github/workflows offline (test/release shows it refuses a
# broken workflow).
lint:
	hack/tools/build.sh golangci-lint actionlint
	$(GOLANGCI_LINT) run --config .golangci.yml ./...
	$(ACTIONLINT) -no-color

# The release: goreleaser check, a snapshot release into dist/ (every archive,
# an SBOM each, checksums signed by cosign with a throw-away key and verified,
# krew/Homebrew/Scoop/winget manifests checked; no image), the krew manifest
# installed into a temporary KREW_ROOT, the stamped `version` outputs, and the
# chart packaged with the release's version through a real OCI registry.
release-check:
	hack/release-check.sh

# The Helm chart: helm lint, helm template of every values file validated by
# kubeconform against offline schemas, wrong values refused. test/chart applies
# the renderings to the real API server.
chart-check:
	hack/chart-check.sh

# The tests talk to a real Secret Service: gnome-keyring under a private D-Bus
# session (hack/with-keyring.sh).
test: tools vet lint chart-check release-check
	hack/with-keyring.sh go test -race -count=1 $(TESTFLAGS) $(PKGS)

# Benchmarks print figures; none of them is a pass/fail test.
bench:
	go test -run '^$$' -bench . -skip LoadDirectVsProxy -benchmem ./...
	go test -run '^$$' -bench LoadDirectVsProxy -benchtime 1x ./cmd/proxy/
	hack/bench/plugin/bench.sh

# The long runs of test/soak: 5,000 watches, a 10-minute mixed load, faults under load; each
# prints its figures (hack/soak.sh for the knobs). `make test` runs their short versions.
soak:
	hack/soak.sh

# Every fuzz target for FUZZTIME (default 30s) each; `make test` runs their seed corpora.
fuzz:
	hack/fuzz.sh

# The local end-to-end demo (the README's first command).
demo:
	hack/demo/demo.sh
