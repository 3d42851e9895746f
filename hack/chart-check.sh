#!/usr/bin/env bash
# Checks charts/aksoidc-proxy offline, with the pinned helm and kubeconform:
#   1. helm lint --strict, with the default values and with each ci/*.yaml;
#   2. helm template of the default values and of each ci/*.yaml, every
#      manifest validated by kubeconform -strict against schemas generated from
#      k8s.io/kubernetes's OpenAPI document at K8S_VERSION, plus schemas of the
#      cert-manager Certificate, prometheus-operator ServiceMonitor, Gateway API
#      and Contour HTTPProxy CRDs in test/chart/testdata/crds (so no kind is
#      skipped; hack/chart-crds.sh --check proves the last two are their
#      modules' files at the pinned versions);
#   3. kubeconform itself rejects an unknown field (the schemas are strict);
#   4. wrong values make helm template fail with a message naming the value.
# The rendered manifests are applied with server-side dry-run by the Go test in
# test/chart.
#
# Usage: hack/chart-check.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CHART=$ROOT/charts/aksoidc-proxy
CRDS=$ROOT/test/chart/testdata/crds
# shellcheck source=tools/versions.env
source "$ROOT/hack/tools/versions.env"
CACHE_ROOT=${AKSOIDC_TOOL_CACHE:-$HOME/.cache/aksoidc}
HELM=$CACHE_ROOT/helm-$HELM_VERSION/helm
KC_DIR=$CACHE_ROOT/kubeconform-$KUBECONFORM_VERSION-k8s-$K8S_VERSION

"$ROOT/hack/tools/build.sh" helm kubeconform >/dev/null

"$ROOT/hack/chart-crds.sh" --check

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
"$KC_DIR/schemagen" -out "$WORK/crd-schemas" "$CRDS"/*.yaml 2>/dev/null

kubeconform() {
	"$KC_DIR/kubeconform" -strict -summary -output text \
		-schema-location "$KC_DIR/schemas/{{.ResourceKind}}{{.KindSuffix}}.json" \
		-schema-location "$WORK/crd-schemas/{{.ResourceKind}}{{.KindSuffix}}.json" "$@"
}

fail() {
	echo "chart-check: $*" >&2
	exit 1
}

# check_values renders the chart with the values files given (none: the
# defaults), lints it and validates every manifest.
check_values() {
	local name=$1 out="$WORK/${1//\//_}.yaml"
	shift
	echo "== $name"
	"$HELM" lint --strict --quiet "$CHART" "$@" | { grep -v '^$' || true; }
	"$HELM" template aksoidc-proxy "$CHART" --namespace aksoidc "$@" >"$out" ||
		fail "helm template failed with $name"
	kubeconform "$out" || fail "kubeconform rejected the manifests of $name"
}

# check_rejects expects helm template to fail with a message containing want.
check_rejects() {
	local want=$1 out
	shift
	if out=$("$HELM" template aksoidc-proxy "$CHART" "$@" 2>&1); then
		fail "helm template accepted $*; want an error naming $want"
	fi
	grep -qF -- "$want" <<<"$out" || fail "helm template $* failed without naming $want:"$'\n'"$out"
	echo "rejected $* ($want)"
}

check_values default
for f in "$CHART"/ci/*.yaml; do
	check_values "ci/$(basename "$f")" -f "$f"
done

echo "== strict schemas"
cat >"$WORK/unknown-field.yaml" <<'EOF'
apiVersion: v1
kind: Service
metadata: {name: x}
spec:
  ports: [{port: 443, targetPrt: https}]
EOF
if kubeconform "$WORK/unknown-field.yaml" >"$WORK/unknown.out" 2>&1 ||
	! grep -q "additional properties 'targetPrt' not allowed" "$WORK/unknown.out"; then
	cat "$WORK/unknown.out" >&2
	fail "kubeconform accepted an unknown field: the schemas are not strict"
fi
# What the generated schemas must accept as the API server does: a number
# or a string for an IntOrString and a Quantity, null for an optional field.
cat >"$WORK/accepted.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: {name: x, annotations: null}
spec:
  selector: {matchLabels: {a: b}}
  strategy: {rollingUpdate: {maxUnavailable: 25%, maxSurge: 1}}
  template:
    metadata: {labels: {a: b}}
    spec:
      containers:
        - name: c
          resources: {limits: {cpu: 1, memory: 64Mi}, requests: {cpu: 0.5}}
          readinessProbe: {httpGet: {path: /readyz, port: 8080}}
          livenessProbe: {httpGet: {path: /healthz, port: probe}}
EOF
kubeconform "$WORK/accepted.yaml" >"$WORK/accepted.out" 2>&1 || {
	cat "$WORK/accepted.out" >&2
	fail "kubeconform rejected a valid Deployment: the schemas are stricter than the API server"
}
# The CRD schemas are strict too.
cat >"$WORK/unknown-crd-field.yaml" <<'EOF'
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: x}
spec: {secretName: x, issuerRef: {name: y}, dnsName: [a.example.com]}
EOF
if kubeconform "$WORK/unknown-crd-field.yaml" >"$WORK/unknown.out" 2>&1 ||
	! grep -q "additional properties 'dnsName' not allowed" "$WORK/unknown.out"; then
	cat "$WORK/unknown.out" >&2
	fail "kubeconform accepted an unknown Certificate field: the CRD schemas are not strict"
fi
echo "kubeconform rejects unknown fields and accepts what the API server accepts"

echo "== wrong values"
check_rejects "/replicaCount" --set replicaCount=0
check_rejects "/oidc/issuerURL" --set oidc.issuerURL=http://issuer.example.com --set oidc.clientID=x
check_rejects "/service/type" --set service.type=Loadbalancer
check_rejects "/containerPorts/https" --set containerPorts.https=443
check_rejects "/trustedProxyCIDRs/0" --set 'trustedProxyCIDRs={10.0.0.0}'
check_rejects "/service/azure/dnsLabel" --set service.azure.dnsLabel=Bad_Label
check_rejects "additional properties 'replicas' not allowed" --set replicas=3
check_rejects "/authenticationConfig/jwt/0': missing property 'issuer'" --set 'authenticationConfig.jwt[0].claimMappings.username.claim=sub'
check_rejects "oidc.* and authenticationConfig are mutually exclusive" \
	--set oidc.issuerURL=https://a.example.com --set oidc.clientID=x \
	--set 'authenticationConfig.jwt[0].issuer.url=https://b.example.com' \
	--set 'authenticationConfig.jwt[0].issuer.audiences[0]=x' \
	--set 'authenticationConfig.jwt[0].claimMappings.username.claim=sub'
check_rejects "oidc.clientID is required" --set oidc.issuerURL=https://issuer.example.com
check_rejects "/ingress/host': minLength" --set ingress.enabled=true --set service.type=ClusterIP
check_rejects "ingress.enabled needs service.type ClusterIP" --set ingress.enabled=true --set ingress.host=a.example.com
check_rejects "tls.certManager.issuerRef.name is required" --set tls.certManager.enabled=true
check_rejects "tls.certManager: the certificate names nothing" \
	--set tls.certManager.enabled=true --set tls.certManager.issuerRef.name=ca

check_rejects "/contour/httpProxy/fqdn': minLength" --set contour.httpProxy.enabled=true --set service.type=ClusterIP
check_rejects "contour.httpProxy.enabled needs service.type ClusterIP" --set contour.httpProxy.enabled=true --set contour.httpProxy.fqdn=a.example.com
check_rejects "/contour/httpProxy/fqdn" --set contour.httpProxy.fqdn=Bad_Host
check_rejects "/gatewayAPI/tlsRoute/parentRefs': minItems" --set gatewayAPI.tlsRoute.enabled=true --set 'gatewayAPI.tlsRoute.hostnames={a.example.com}' --set service.type=ClusterIP
check_rejects "/gatewayAPI/tlsRoute/hostnames': minItems" --set gatewayAPI.tlsRoute.enabled=true --set 'gatewayAPI.tlsRoute.parentRefs[0].name=gw' --set service.type=ClusterIP
check_rejects "gatewayAPI.tlsRoute.enabled and gatewayAPI.httpRoute.enabled need service.type ClusterIP" \
	--set gatewayAPI.tlsRoute.enabled=true --set 'gatewayAPI.tlsRoute.parentRefs[0].name=gw' --set 'gatewayAPI.tlsRoute.hostnames={a.example.com}'
check_rejects "gatewayAPI.httpRoute.backendTLS needs caCertificateRefs or wellKnownCACertificates" --set service.type=ClusterIP \
	--set gatewayAPI.httpRoute.enabled=true --set 'gatewayAPI.httpRoute.parentRefs[0].name=gw' --set 'gatewayAPI.httpRoute.hostnames={a.example.com}'
check_rejects "/gatewayAPI/httpRoute/backendTLS/wellKnownCACertificates" --set gatewayAPI.httpRoute.backendTLS.wellKnownCACertificates=system
check_rejects "/gatewayAPI/httpRoute/parentRefs/0': additional properties 'prt' not allowed" --set 'gatewayAPI.httpRoute.parentRefs[0].name=gw' --set 'gatewayAPI.httpRoute.parentRefs[0].prt=443'
check_rejects "/onboarding/displayName': maxLength" --set "onboarding.displayName=$(printf 'x%.0s' {1..101})"
check_rejects "/onboarding/message" --set-json 'onboarding.message="a\u001b[2Jb"'
check_rejects "onboarding.displayName and onboarding.message need the URL users reach the proxy at" --set onboarding.displayName=Prod
# What the proxy would refuse at start (a crash loop) is refused by helm: --onboarding-server-url
# and the Ingress want a bare host.
for url in 'https://u:p@h.example' 'https://h.example?x=1' 'https://h.example#f' 'https://h ex' 'https://h.example/path'; do
	check_rejects "/externalURL" --set "externalURL=$url"
done
check_rejects "/ingress/host" --set ingress.enabled=true --set service.type=ClusterIP --set 'ingress.host=evil.com/x?y#z a.b'

echo "chart-check: ok"
