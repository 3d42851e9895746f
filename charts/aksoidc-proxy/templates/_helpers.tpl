{{/* Chart name, truncated to the 63 characters a label allows. */}}
{{- define "aksoidc-proxy.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Name of the release's objects. */}}
{{- define "aksoidc-proxy.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "aksoidc-proxy.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "aksoidc-proxy.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "aksoidc-proxy.selectorLabels" -}}
app.kubernetes.io/name: {{ include "aksoidc-proxy.name" . | quote }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "aksoidc-proxy.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "aksoidc-proxy.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "aksoidc-proxy.tlsSecretName" -}}
{{- default (printf "%s-tls" (include "aksoidc-proxy.fullname" .)) .Values.tls.secretName }}
{{- end }}

{{- define "aksoidc-proxy.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The ConfigMap exists when there is a CA bundle or an AuthenticationConfiguration to mount. */}}
{{- define "aksoidc-proxy.hasConfig" -}}
{{- if or .Values.authenticationConfig .Values.oidc.caBundle }}true{{ end }}
{{- end }}

{{/* The AuthenticationConfiguration file, apiVersion and kind filled in. */}}
{{- define "aksoidc-proxy.authenticationConfig" -}}
{{- $c := deepCopy .Values.authenticationConfig }}
{{- $_ := set $c "apiVersion" (default "apiserver.config.k8s.io/v1" $c.apiVersion) }}
{{- $_ = set $c "kind" (default "AuthenticationConfiguration" $c.kind) }}
{{- toYaml $c }}
{{- end }}

{{/* User-extra keys the ClusterRole lets the proxy impersonate. */}}
{{- define "aksoidc-proxy.userExtras" -}}
{{- $keys := list "aksoidc.io/client-ip" }}
{{- if .Values.rbac.credentialIDExtra }}
{{- $keys = append $keys "authentication.kubernetes.io/credential-id" }}
{{- end }}
{{- range .Values.rbac.extraUserExtras }}
{{- $keys = append $keys . }}
{{- end }}
{{- range (.Values.authenticationConfig.jwt | default list) }}
{{- range ((.claimMappings | default dict).extra | default list) }}
{{- $keys = append $keys .key }}
{{- end }}
{{- end }}
{{- toYaml (uniq $keys) }}
{{- end }}

{{/* Cross-field rules the schema cannot say clearly; each message names the values at fault. */}}
{{- define "aksoidc-proxy.validate" -}}
{{- /* YAML reads CR, NEL, LS and PS as line breaks, but nindent indents only after \n and toYaml
writes LS and PS raw in a block scalar: such a value, in any string or key (annotations and
extraEnv too, which the schema leaves free), could add fields anywhere. JSON writes CR, LS and PS
as \r, \u2028 and \u2029 (after an even run of backslashes), NEL as itself. */}}
{{- if regexMatch `(^|[^\\])(\\\\)*\\(r|u2028|u2029)|\x{85}` (toJson .Values) }}
{{- fail "a value holds a carriage return, NEL, LS or PS (U+000D, U+0085, U+2028, U+2029), which YAML reads as line breaks: use \\n" }}
{{- end }}
{{- $o := .Values.oidc }}
{{- if and .Values.authenticationConfig (or $o.issuerURL $o.clientID $o.usernameClaim $o.usernamePrefix $o.groupsClaim $o.groupsPrefix $o.requiredClaims $o.signingAlgs $o.caBundle) }}
{{- fail "oidc.* and authenticationConfig are mutually exclusive (as the proxy's --oidc-* flags and --authentication-config are): set one of them" }}
{{- end }}
{{- if and $o.issuerURL (not $o.clientID) }}
{{- fail "oidc.clientID is required when oidc.issuerURL is set" }}
{{- end }}
{{- if and $o.clientID (not $o.issuerURL) }}
{{- fail "oidc.issuerURL is required when oidc.clientID is set" }}
{{- end }}
{{- if and .Values.ingress.enabled (ne .Values.service.type "ClusterIP") }}
{{- fail "ingress.enabled needs service.type ClusterIP (the ingress controller passes TLS through to the Service)" }}
{{- end }}
{{- if and .Values.contour.httpProxy.enabled (ne .Values.service.type "ClusterIP") }}
{{- fail "contour.httpProxy.enabled needs service.type ClusterIP (Envoy passes TLS through to the Service)" }}
{{- end }}
{{- if and (or .Values.gatewayAPI.tlsRoute.enabled .Values.gatewayAPI.httpRoute.enabled) (ne .Values.service.type "ClusterIP") }}
{{- fail "gatewayAPI.tlsRoute.enabled and gatewayAPI.httpRoute.enabled need service.type ClusterIP (the Gateway routes to the Service)" }}
{{- end }}
{{- $bt := .Values.gatewayAPI.httpRoute.backendTLS }}
{{- if and .Values.gatewayAPI.httpRoute.enabled (not (or $bt.caCertificateRefs $bt.wellKnownCACertificates)) }}
{{- fail "gatewayAPI.httpRoute.backendTLS needs caCertificateRefs or wellKnownCACertificates: the Gateway must verify the proxy's certificate" }}
{{- end }}
{{- if and $bt.caCertificateRefs $bt.wellKnownCACertificates }}
{{- fail "gatewayAPI.httpRoute.backendTLS: caCertificateRefs and wellKnownCACertificates are mutually exclusive" }}
{{- end }}
{{- if and .Values.onboarding.enabled (or .Values.onboarding.displayName .Values.onboarding.message) (not (include "aksoidc-proxy.externalURL" .)) }}
{{- fail "onboarding.displayName and onboarding.message need the URL users reach the proxy at: set externalURL (or ingress.host, contour.httpProxy.fqdn, gatewayAPI hostnames)" }}
{{- end }}
{{- if and .Values.tls.certManager.enabled (not .Values.tls.certManager.issuerRef.name) }}
{{- fail "tls.certManager.issuerRef.name is required when tls.certManager.enabled is true" }}
{{- end }}
{{- $pdb := .Values.podDisruptionBudget }}
{{- if and $pdb.enabled (kindIs "invalid" $pdb.minAvailable) (kindIs "invalid" $pdb.maxUnavailable) }}
{{- fail "podDisruptionBudget.enabled needs podDisruptionBudget.minAvailable or podDisruptionBudget.maxUnavailable" }}
{{- end }}
{{- if and .Values.autoscaling.enabled (lt (int .Values.autoscaling.maxReplicas) (int .Values.autoscaling.minReplicas)) }}
{{- fail "autoscaling.maxReplicas must be at least autoscaling.minReplicas" }}
{{- end }}
{{- end }}

{{/* The proxy's command-line flags, each quoted: values such as an "oidc:" prefix are not plain YAML. */}}
{{- define "aksoidc-proxy.args" -}}
{{- $a := list (printf "--secure-port=%v" .Values.containerPorts.https) (printf "--probe-port=%v" .Values.containerPorts.probe) }}
{{- $a = append $a "--tls-cert-file=/etc/aksoidc/tls/tls.crt" }}
{{- $a = append $a "--tls-private-key-file=/etc/aksoidc/tls/tls.key" }}
{{- if .Values.authenticationConfig }}
{{- $a = append $a "--authentication-config=/etc/aksoidc/config/authentication-config.yaml" }}
{{- with .Values.authenticationConfigReloadInterval }}
{{- $a = append $a (printf "--authentication-config-reload-interval=%s" .) }}
{{- end }}
{{- end }}
{{- with .Values.bindAddress }}
{{- $a = append $a (printf "--bind-address=%s" .) }}
{{- end }}
{{- $o := .Values.oidc }}
{{- range $flag, $v := dict "issuer-url" $o.issuerURL "client-id" $o.clientID "username-claim" $o.usernameClaim "username-prefix" $o.usernamePrefix "groups-claim" $o.groupsClaim "groups-prefix" $o.groupsPrefix }}
{{- if $v }}
{{- $a = append $a (printf "--oidc-%s=%s" $flag $v) }}
{{- end }}
{{- end }}
{{- range $k, $v := $o.requiredClaims }}
{{- $a = append $a (printf "--oidc-required-claim=%s=%s" $k $v) }}
{{- end }}
{{- with $o.signingAlgs }}
{{- $a = append $a (printf "--oidc-signing-algs=%s" (join "," .)) }}
{{- end }}
{{- if $o.caBundle }}
{{- $a = append $a "--oidc-ca-file=/etc/aksoidc/config/oidc-ca.crt" }}
{{- end }}
{{- if .Values.allowSystemIdentities }}
{{- $a = append $a "--allow-system-identities" }}
{{- end }}
{{- if .Values.tokenPassthrough.enabled }}
{{- $a = append $a "--token-passthrough" }}
{{- end }}
{{- if not .Values.nestedImpersonation.enabled }}
{{- $a = append $a "--nested-impersonation=false" }}
{{- end }}
{{- with .Values.upstream.qps }}
{{- $a = append $a (printf "--upstream-qps=%v" .) }}
{{- end }}
{{- with .Values.upstream.burst }}
{{- $a = append $a (printf "--upstream-burst=%v" .) }}
{{- end }}
{{- range .Values.trustedProxyCIDRs }}
{{- $a = append $a (printf "--trusted-proxy-cidr=%s" .) }}
{{- end }}
{{- with .Values.requestTimeout }}
{{- $a = append $a (printf "--request-timeout=%s" .) }}
{{- end }}
{{- with .Values.shutdownGrace }}
{{- $a = append $a (printf "--shutdown-grace=%s" .) }}
{{- end }}
{{- with .Values.readinessCheckInterval }}
{{- $a = append $a (printf "--readiness-check-interval=%s" .) }}
{{- end }}
{{- with .Values.discovery.issuerURL }}
{{- $a = append $a (printf "--discovery-issuer-url=%s" .) }}
{{- end }}
{{- with .Values.discovery.clientID }}
{{- $a = append $a (printf "--discovery-client-id=%s" .) }}
{{- end }}
{{- with .Values.discovery.extraScopes }}
{{- $a = append $a (printf "--discovery-extra-scopes=%s" (join "," .)) }}
{{- end }}
{{- if .Values.discovery.publishTLSCA }}
{{- $a = append $a "--discovery-ca-file=/etc/aksoidc/tls/ca.crt" }}
{{- end }}
{{- $url := include "aksoidc-proxy.externalURL" . }}
{{- if not .Values.onboarding.enabled }}
{{- $a = append $a "--onboarding=false" }}
{{- else if $url }}
{{- $a = append $a (printf "--onboarding-server-url=%s" $url) }}
{{- with .Values.onboarding.displayName }}
{{- $a = append $a (printf "--onboarding-display-name=%s" .) }}
{{- end }}
{{- with .Values.onboarding.message }}
{{- $a = append $a (printf "--onboarding-message=%s" .) }}
{{- end }}
{{- end }}
{{- with .Values.logLevel }}
{{- $a = append $a (printf "--log-level=%s" .) }}
{{- end }}
{{- range .Values.extraArgs }}
{{- $a = append $a . }}
{{- end }}
{{- range $a }}
- {{ . | quote }}
{{- end }}
{{- end }}

{{/* Seconds in a duration of hours, minutes and seconds ("1m30s"), as the schema allows. */}}
{{- define "aksoidc-proxy.seconds" -}}
{{- $total := 0 }}
{{- range regexFindAll "[0-9]+[hms]" . -1 }}
{{- $n := int (regexFind "[0-9]+" .) }}
{{- if hasSuffix "h" . }}{{ $n = mul $n 3600 }}{{ else if hasSuffix "m" . }}{{ $n = mul $n 60 }}{{ end }}
{{- $total = add $total $n }}
{{- end }}
{{- $total }}
{{- end }}

{{/* The URL users reach the proxy at, or "" when only the load balancer's address will tell. */}}
{{- define "aksoidc-proxy.externalURL" -}}
{{- $hosts := include "aksoidc-proxy.routedHosts" . | fromYamlArray }}
{{- if .Values.externalURL }}
{{- .Values.externalURL | trimSuffix "/" }}
{{- else }}
{{- $named := list }}
{{- range $hosts }}{{ if not (hasPrefix "*" .) }}{{ $named = append $named . }}{{ end }}{{ end }}
{{- with $named }}{{ printf "https://%s" (first .) }}{{ end }}
{{- end }}
{{- end }}

{{/* The host names the enabled ingress, HTTPProxy and routes give the proxy, in that order. */}}
{{- define "aksoidc-proxy.routedHosts" -}}
{{- $hosts := list }}
{{- if .Values.ingress.enabled }}
{{- $hosts = append $hosts .Values.ingress.host }}
{{- end }}
{{- if .Values.contour.httpProxy.enabled }}
{{- $hosts = append $hosts .Values.contour.httpProxy.fqdn }}
{{- end }}
{{- range $route := list .Values.gatewayAPI.tlsRoute .Values.gatewayAPI.httpRoute }}
{{- if $route.enabled }}
{{- $hosts = concat $hosts $route.hostnames }}
{{- end }}
{{- end }}
{{- toYaml (compact $hosts) }}
{{- end }}

{{/* "true" when the EnvVar list .env names .name, so the chart's own default steps aside. */}}
{{- define "aksoidc-proxy.setsEnv" -}}
{{- range .env }}{{ if eq .name $.name }}true{{ end }}{{ end }}
{{- end }}

{{/*
Bytes in a memory quantity (resources.limits.memory): a number, or digits
with an optional fraction and a binary (Ki..Ei) or decimal (k..E) suffix.
*/}}
{{- define "aksoidc-proxy.bytes" -}}
{{- $q := . }}
{{- if or (kindIs "float64" $q) (kindIs "int" $q) (kindIs "int64" $q) }}
{{- int64 $q }}
{{- else }}
{{- $m := regexFindAll "^([0-9]+(?:\\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$" (toString $q) -1 }}
{{- if not $m }}
{{- fail (printf "resources.limits.memory %q: the chart derives GOMEMLIMIT from it and reads only digits with a suffix such as Mi or G; write it so, or set GOMEMLIMIT in extraEnv" (toString $q)) }}
{{- end }}
{{- $units := dict "" 1.0 "Ki" 1024.0 "Mi" 1048576.0 "Gi" 1073741824.0 "Ti" 1099511627776.0 "Pi" 1125899906842624.0 "Ei" 1152921504606846976.0 "k" 1e3 "M" 1e6 "G" 1e9 "T" 1e12 "P" 1e15 "E" 1e18 }}
{{- $suffix := regexFind "[A-Za-z]+$" (toString $q) }}
{{- floor (mulf (float64 (trimSuffix $suffix (toString $q))) (get $units $suffix)) | int64 }}
{{- end }}
{{- end }}
