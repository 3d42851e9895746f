#!/usr/bin/env bash
# The local end-to-end demo (`make demo`, the README's first command).
#
# On 127.0.0.1 only, it starts etcd + kube-apiserver (RBAC on), Dex (its mock
# login) and aksoidc-proxy, creates a namespace and an RBAC binding for Dex's
# demo user, then runs `kubectl aksoidc setup` against the proxy (a browser
# login: the system browser when there is a display, else headless Chromium)
# and kubectl through the proxy. Everything it writes stays under ./demo; a
# second run reuses the tools, binaries and certificates.
#
# With a terminal it keeps the stack running until Ctrl-C. DEMO_EXIT=1 (or
# no terminal) stops it after the last step; the CI test runs it that way.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
# shellcheck source=../tools/versions.env
source hack/tools/versions.env
demo=${DEMO_DIR:-$root/demo}
cache=${AKSOIDC_TOOL_CACHE:-$HOME/.cache/aksoidc}
k8s=$cache/k8s-$K8S_VERSION-etcd-$ETCD_VERSION
dex=$cache/dex-$DEX_VERSION/dex
etcd_port=${DEMO_ETCD_PORT:-23790}
api_port=${DEMO_API_PORT:-16443}
dex_port=${DEMO_DEX_PORT:-15556}
proxy_port=${DEMO_PROXY_PORT:-18443}
probe_port=${DEMO_PROBE_PORT:-18080}
issuer=https://127.0.0.1:$dex_port/dex
pids=()
flags=() # setup's browser flags (browser_flags)

step() { printf '\n==> %s\n' "$*"; }
fail() {
	echo "demo: $*" >&2
	exit 1
}
# cleanup stops the stack in reverse order of start (etcd last: an API server
# without its etcd takes minutes to stop), each with SIGTERM, then SIGKILL.
cleanup() {
	local i p t
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		p=${pids[i]}
		kill "$p" 2>/dev/null || continue
		for ((t = 0; t < 50; t++)); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$p" 2>/dev/null || true
	done
}
trap cleanup EXIT

# start NAME CMD...: runs CMD in the background, its output in demo/NAME.log.
start() {
	local name=$1
	shift
	"$@" >"$demo/$name.log" 2>&1 &
	pids+=($!)
}

# wait_for NAME URL [CURL-ARGS...]: polls URL until it answers 200.
wait_for() {
	local name=$1 url=$2 i
	shift 2
	for ((i = 0; i < 300; i++)); do
		curl -fsS -o /dev/null "$@" "$url" 2>/dev/null && return
		sleep 0.1
	done
	tail -n 20 "$demo/$name.log" >&2
	fail "$name did not come up at $url (log: demo/$name.log)"
}

check_ports() {
	local p
	for p in "$etcd_port" "$((etcd_port + 10))" "$api_port" "$dex_port" "$proxy_port" "$probe_port"; do
		if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			fail "127.0.0.1:$p is in use (another demo still running?); free it or set DEMO_*_PORT"
		fi
	done
}

build() {
	step "Building the pinned tools (skipped when cached) and the two binaries"
	hack/tools/build.sh dex k8s
	mkdir -p "$demo/bin"
	go build -o "$demo/bin/" ./cmd/kubectl-aksoidc ./cmd/proxy
	mv -f "$demo/bin/proxy" "$demo/bin/aksoidc-proxy" 2>/dev/null || true
	ln -sf "$k8s/kubectl" "$demo/bin/kubectl"
	export PATH="$demo/bin:$PATH"
}

# certificates: one demo CA signs Dex's and the proxy's serving certificates.
certificates() {
	local pki=$demo/pki name
	[[ -s $pki/proxy.crt ]] && return
	step "Creating a demo CA and serving certificates for 127.0.0.1 (demo/pki)"
	mkdir -p "$pki"
	openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=aksoidc demo CA" \
		-keyout "$pki/ca.key" -out "$pki/ca.crt" 2>/dev/null
	for name in dex proxy; do
		openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
			-keyout "$pki/$name.key" -out "$pki/$name.csr" 2>/dev/null
		openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
			-days 365 -out "$pki/$name.crt" \
			-extfile <(printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n') 2>/dev/null
	done
	openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
	openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
	chmod 0600 "$pki"/*.key
}

control_plane() {
	step "Starting etcd and kube-apiserver (RBAC) on 127.0.0.1:$api_port"
	rm -rf "$demo/etcd" "$demo/apiserver"
	mkdir -p "$demo/apiserver"
	admin_token=$(openssl rand -hex 16)
	proxy_token=$(openssl rand -hex 16)
	printf '%s,demo-admin,demo-admin,system:masters\n%s,aksoidc-proxy,aksoidc-proxy\n' \
		"$admin_token" "$proxy_token" >"$demo/apiserver/tokens.csv"
	start etcd "$k8s/etcd" --data-dir "$demo/etcd" --listen-client-urls "http://127.0.0.1:$etcd_port" \
		--advertise-client-urls "http://127.0.0.1:$etcd_port" --listen-peer-urls "http://127.0.0.1:$((etcd_port + 10))"
	start kube-apiserver "$k8s/kube-apiserver" --etcd-servers "http://127.0.0.1:$etcd_port" \
		--bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" \
		--endpoint-reconciler-type none --cert-dir "$demo/apiserver" --authorization-mode RBAC \
		--token-auth-file "$demo/apiserver/tokens.csv" --service-cluster-ip-range 10.0.0.0/24 \
		--disable-admission-plugins ServiceAccount --service-account-issuer https://kubernetes.default.svc \
		--service-account-key-file "$demo/pki/sa.pub" --service-account-signing-key-file "$demo/pki/sa.key"
	wait_for kube-apiserver "https://127.0.0.1:$api_port/readyz" -k -H "Authorization: Bearer $admin_token"
	kubeconfig_for admin "$admin_token"
	kubeconfig_for proxy "$proxy_token"
}

# kubeconfig_for NAME TOKEN: a kubeconfig that talks straight to the API server.
kubeconfig_for() {
	local file=$demo/apiserver/$1.kubeconfig
	rm -f "$file"
	kubectl config --kubeconfig "$file" set-cluster demo --server "https://127.0.0.1:$api_port" \
		--certificate-authority "$demo/apiserver/apiserver.crt" --embed-certs >/dev/null
	kubectl config --kubeconfig "$file" set-credentials "$1" --token "$2" >/dev/null
	kubectl config --kubeconfig "$file" set-context demo --cluster demo --user "$1" >/dev/null
	kubectl config --kubeconfig "$file" use-context demo >/dev/null
}

rbac() {
	step "RBAC: the proxy may impersonate; Dex's demo user (group oidc:authors) may read namespace demo"
	kubectl --kubeconfig "$demo/apiserver/admin.kubeconfig" apply -f - <<'YAML'
apiVersion: v1
kind: Namespace
metadata: {name: demo}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: aksoidc-proxy-impersonator}
rules:
- apiGroups: [""]
  resources: [users, groups]
  verbs: [impersonate]
- apiGroups: [authentication.k8s.io]
  resources: [uids, userextras/aksoidc.io/client-ip]
  verbs: [impersonate]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: aksoidc-proxy-impersonator}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: aksoidc-proxy-impersonator}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: aksoidc-proxy}
---
# A Role of its own: the built-in "view" is filled in by kube-controller-manager, which the demo does not run.
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader, namespace: demo}
rules:
- apiGroups: [""]
  resources: [pods, pods/log, services, configmaps]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: authors-read, namespace: demo}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: Group, name: "oidc:authors"}
YAML
}

start_dex() {
	step "Starting Dex at $issuer (mock login; public client kubectl-aksoidc)"
	cat >"$demo/dex.yaml" <<YAML
issuer: $issuer
storage: {type: memory}
web: {https: 127.0.0.1:$dex_port, tlsCert: $demo/pki/dex.crt, tlsKey: $demo/pki/dex.key}
oauth2: {skipApprovalScreen: true}
enablePasswordDB: false
connectors:
- {type: mockCallback, id: mock, name: Demo login}
staticClients:
- {id: kubectl-aksoidc, name: kubectl-aksoidc, public: true}
YAML
	start dex "$dex" serve "$demo/dex.yaml"
	wait_for dex "$issuer/.well-known/openid-configuration" --cacert "$demo/pki/ca.crt"
}

start_proxy() {
	step "Starting aksoidc-proxy at https://127.0.0.1:$proxy_port (it trusts Dex, impersonates upstream)"
	start aksoidc-proxy aksoidc-proxy --bind-address 127.0.0.1 --secure-port "$proxy_port" --probe-port "$probe_port" \
		--tls-cert-file "$demo/pki/proxy.crt" --tls-private-key-file "$demo/pki/proxy.key" \
		--kubeconfig "$demo/apiserver/proxy.kubeconfig" \
		--oidc-issuer-url "$issuer" --oidc-client-id kubectl-aksoidc --oidc-ca-file "$demo/pki/ca.crt" \
		--oidc-username-claim email --oidc-username-prefix oidc: \
		--oidc-groups-claim groups --oidc-groups-prefix oidc: \
		--discovery-ca-file "$demo/pki/ca.crt" \
		--onboarding-server-url "https://127.0.0.1:$proxy_port" --onboarding-display-name "aksoidc demo" \
		--onboarding-message "A local demo: everything runs on 127.0.0.1 and stops with the demo." # the scopes (email, groups) follow the claims it reads
	wait_for aksoidc-proxy "http://127.0.0.1:$probe_port/readyz"
}

browser_flags() {
	if [[ -n ${DISPLAY:-}${WAYLAND_DISPLAY:-} || $(uname) == Darwin ]]; then
		echo "Your browser opens Dex's demo login; it will warn that demo/pki/ca.crt, which signs Dex's certificate, is unknown to it: accept it for 127.0.0.1:$dex_port." >&2
		return
	fi
	local chromium
	chromium=$(command -v chromium || command -v chromium-browser || true)
	[[ -n $chromium ]] || fail "no display and no chromium: install chromium, or run with a display"
	cat >"$demo/bin/headless-browser" <<SH
#!/bin/sh
# No display: headless Chromium plays the user's browser (Dex's mock login needs no clicks).
# It does not know the demo CA that signs Dex's certificate, hence --ignore-certificate-errors:
# this throwaway profile only ever visits 127.0.0.1.
exec "$chromium" --headless --no-sandbox --disable-gpu --disable-background-networking \\
  --disable-component-update --disable-sync --no-first-run --ignore-certificate-errors \\
  --user-data-dir="$demo/chromium" --dump-dom "\$@" >/dev/null 2>&1
SH
	chmod +x "$demo/bin/headless-browser"
	echo "--browser-command=$demo/bin/headless-browser"
}

login() {
	step "kubectl aksoidc setup --server https://127.0.0.1:$proxy_port (discovery, browser login, kubeconfig)"
	rm -rf "$demo/cache" "$demo/kubeconfig"
	mapfile -t flags < <(browser_flags)
	kubectl-aksoidc setup --server "https://127.0.0.1:$proxy_port" \
		--server-certificate-authority "$demo/pki/ca.crt" --certificate-authority "$demo/pki/ca.crt" \
		--kubeconfig "$demo/kubeconfig" --name aksoidc-demo --listen-address 127.0.0.1:0 \
		--token-cache-storage file --token-cache-dir "$demo/cache" --login-timeout "${DEMO_LOGIN_TIMEOUT:-3m}" "${flags[@]}"
}

through_the_proxy() {
	export KUBECONFIG=$demo/kubeconfig
	step "kubectl auth whoami (through the proxy)"
	kubectl auth whoami
	step "kubectl get pods -n demo (allowed by the RoleBinding)"
	kubectl get pods -n demo
	step "kubectl get pods -n kube-system (forbidden: the API server's RBAC decides for the human)"
	if kubectl get pods -n kube-system; then fail "kube-system should be forbidden"; fi
}

# onboarding: the page a browser gets at the proxy's URL, and the kubeconfig it offers, used as
# it is: kubectl runs kubectl-aksoidc from PATH, which logs in again (its token cache is
# keyed by the flags, and this kubeconfig has fewer than setup's). Dex's CA is given as a
# system CA (SSL_CERT_FILE), the way a company CA would be installed.
onboarding() {
	local url=https://127.0.0.1:$proxy_port browser=${flags[0]:-}
	step "The onboarding page: open $url in a browser (its CA is demo/pki/ca.crt)"
	curl -fsS --cacert "$demo/pki/ca.crt" -H 'Accept: text/html' "$url/" | grep -o '<h1 id="display-name">[^<]*</h1>'
	curl -fsS --cacert "$demo/pki/ca.crt" -o "$demo/downloaded.kubeconfig" "$url/kubeconfig"
	step "kubectl auth whoami with the kubeconfig the page offers (demo/downloaded.kubeconfig)"
	rm -rf "$demo/xdg-cache"
	mkdir -m 0700 "$demo/xdg-cache"
	BROWSER=${browser#--browser-command=} XDG_CACHE_HOME=$demo/xdg-cache SSL_CERT_FILE=$demo/pki/ca.crt \
		kubectl --kubeconfig "$demo/downloaded.kubeconfig" auth whoami
}

main() {
	check_ports
	build
	certificates
	control_plane
	rbac
	start_dex
	start_proxy
	login
	through_the_proxy
	onboarding
	step "Done. The stack runs on 127.0.0.1; logs are in demo/*.log."
	if [[ ${DEMO_EXIT:-} == 1 || ! -t 0 ]]; then
		return
	fi
	echo "Open https://127.0.0.1:$proxy_port in a browser for the onboarding page (trust demo/pki/ca.crt, or accept the warning)."
	echo "From another terminal:  export KUBECONFIG=$demo/kubeconfig PATH=$demo/bin:\$PATH; kubectl auth whoami"
	echo "Press Ctrl-C to stop the demo."
	trap 'echo; echo "Stopping."; exit 0' INT
	while sleep 3600; do :; done
}

main "$@"
