#!/usr/bin/env bash
# The local end-to-end demo (`make demo`): a real Dex on 127.0.0.1 with its
# mock login, and kubectl-aksoidc signing in through a browser (the system
# browser when there is a display, else headless Chromium), then serving the
# token from its cache. Everything it writes stays under ./demo.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
# shellcheck source=../tools/versions.env
source hack/tools/versions.env
demo=$root/demo
port=${DEMO_DEX_PORT:-5556}
issuer=http://127.0.0.1:$port/dex
dex=$HOME/.cache/aksoidc/dex-$DEX_VERSION/dex

step() { printf '\n==> %s\n' "$*"; }

step "Building the tools (skipped when cached) and kubectl-aksoidc"
hack/tools/build.sh dex
mkdir -p "$demo/bin" "$demo/cache"
go build -o "$demo/bin/kubectl-aksoidc" ./cmd/kubectl-aksoidc

step "Starting Dex at $issuer (mock login, public client kubectl-aksoidc)"
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
	echo "127.0.0.1:$port is in use: stop what listens there or set DEMO_DEX_PORT" >&2
	exit 1
fi
cat >"$demo/dex.yaml" <<YAML
issuer: $issuer
storage: {type: memory}
web: {http: 127.0.0.1:$port}
oauth2: {skipApprovalScreen: true}
enablePasswordDB: false
connectors:
- {type: mockCallback, id: mock, name: Demo login}
staticClients:
- {id: kubectl-aksoidc, name: kubectl-aksoidc, public: true}
YAML
"$dex" serve "$demo/dex.yaml" >"$demo/dex.log" 2>&1 &
dex_pid=$!
trap 'kill $dex_pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do
	if curl -fsS "$issuer/.well-known/openid-configuration" >/dev/null 2>&1; then break; fi
	kill -0 "$dex_pid" 2>/dev/null || { cat "$demo/dex.log"; exit 1; }
	sleep 0.1
done

browser_flags=()
if [[ -z ${DISPLAY:-}${WAYLAND_DISPLAY:-} && $(uname) != Darwin ]]; then
	chromium=$(command -v chromium || command -v chromium-browser || true)
	[[ -n $chromium ]] || { echo "no display and no chromium: install chromium or run with a display" >&2; exit 1; }
	cat >"$demo/bin/headless-browser" <<SH
#!/bin/sh
exec "$chromium" --headless --no-sandbox --disable-gpu --disable-background-networking \
  --disable-component-update --disable-sync --no-first-run --user-data-dir="$demo/chromium" --dump-dom "\$@" >/dev/null 2>&1
SH
	chmod +x "$demo/bin/headless-browser"
	browser_flags=(--browser-command "$demo/bin/headless-browser")
	echo "No display: headless Chromium plays the browser."
fi

flags=(--issuer-url "$issuer" --client-id kubectl-aksoidc --extra-scope email --extra-scope groups --extra-scope profile
	--token-cache-storage file --token-cache-dir "$demo/cache" --listen-address 127.0.0.1:0)
export KUBERNETES_EXEC_INFO='{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","spec":{"interactive":true}}'

summary() { sed -E 's/"token":"[^"]*"/"token":"<'"$1"' characters>"/'; }

step "kubectl-aksoidc get-token (empty cache: browser login with PKCE)"
"$demo/bin/kubectl-aksoidc" logout "${flags[@]}" 2>/dev/null || true
out=$("$demo/bin/kubectl-aksoidc" get-token "${flags[@]}" "${browser_flags[@]}" -v 1)
token=$(sed -E 's/.*"token":"([^"]*)".*/\1/' <<<"$out")
summary "${#token}" <<<"$out"

step "kubectl-aksoidc whoami (the cached identity, never the token)"
"$demo/bin/kubectl-aksoidc" whoami "${flags[@]}"

step "kubectl-aksoidc get-token again (served from the cache: no browser, no network)"
start=$(date +%s%N)
"$demo/bin/kubectl-aksoidc" get-token "${flags[@]}" "${browser_flags[@]}" -v 1 | summary "${#token}"
echo "took $(( ($(date +%s%N) - start) / 1000000 )) ms"

step "Done. Dex's log is in $demo/dex.log; the token cache in $demo/cache."
