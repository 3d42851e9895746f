#!/usr/bin/env bash
# Runs every Go fuzz target of the module for FUZZTIME each (default 30s). `make test` runs
# only their seed corpora (testdata/fuzz/<Name>/), as ordinary tests; a crasher found here is
# written to that folder, where it becomes a seed: commit it with the fix.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

FUZZTIME=${FUZZTIME:-30s}
count=0
while read -r pkg; do
	while read -r target; do
		[[ $target == Fuzz* ]] || continue
		echo "fuzz: $pkg $target for $FUZZTIME"
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg"
		count=$((count + 1))
	done < <(go test -list '^Fuzz' "$pkg")
done < <(go list ./...)
echo "fuzz: $count targets, none failed"
