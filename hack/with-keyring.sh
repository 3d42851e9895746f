#!/usr/bin/env bash
# Runs a command inside a private D-Bus session with a real, unlocked
# gnome-keyring as its Secret Service (what `make test` runs the suite in).
# The keyrings and the daemons' sockets live in a fresh temp dir; HOME stays
# real, so the Go caches and the tool cache are found.
#
# Usage: hack/with-keyring.sh COMMAND [ARG...]
set -euo pipefail

if [[ ${1:-} == --inside ]]; then
	shift
	printf %s pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null
	# --unlock returns before the daemon owns the Secret Service name; a
	# client asking earlier would make D-Bus start a second, locked daemon.
	for ((i = 0; i < 200; i++)); do
		if dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
			org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q 'boolean true'; then
			exec "$@"
		fi
		sleep 0.05
	done
	echo "with-keyring.sh: gnome-keyring did not take the Secret Service name within 10s" >&2
	exit 1
fi

keyring=$(mktemp -d)
trap 'rm -rf "$keyring"' EXIT
mkdir -m 0700 "$keyring/data" "$keyring/run"
XDG_DATA_HOME="$keyring/data" XDG_RUNTIME_DIR="$keyring/run" \
	dbus-run-session -- "${BASH_SOURCE[0]}" --inside "$@"
