#!/usr/bin/env bash
# Runs every Go fuzz target of the module for FUZZTIME each (default 30s). `make test` runs
# only their seed corpora (testdata/fuzz/<Name>/), as ordinary tests; a crasher found here is
# written to that folder, where it becomes a seed: commit it with the fix.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

FUZZTIME=${FUZZTIME:-30s}
count=0
# "<file>:func FuzzName(" for every fuzz target in a tracked test file.
while IFS=: read -r file decl; do
	target=${decl#func }
	target=${target%%(*}
	echo "fuzz: ./$(dirname "$file") $target for $FUZZTIME"
	go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "./$(dirname "$file")"
	count=$((count + 1))
done < <(git grep -l '^func Fuzz' -- '*_test.go' | while read -r f; do
	grep -o '^func Fuzz[A-Za-z0-9_]*(' "$f" | sed "s|^|$f:|"
done)
echo "fuzz: $count targets, none failed"
