#!/usr/bin/env bash
# Static checks of deploy/: the container image recipe, the kustomize trees
# and the KES/ESO examples.  Offline and quick (no cluster, no registry, no
# Docker): YAML is parsed with kubectl --local (and PyYAML when present),
# kustomizations are built with `kubectl kustomize`, and the rendered
# objects are read back through kubectl's JSONPath, one call per tree.
#
#   bash tests/deploy/check.sh
#
# Needs kubectl (Debian: kubernetes-client).  Optional: python3 with PyYAML
# (Debian: python3-yaml) for a second YAML parser, python3 or jq to check
# the ConfigMap's config.json, and SMPROXY_BIN (a built smproxy) to run
# `smproxy --check` on that config.json with the rendered Deployment's env.
# Prints one line per check; exits 1 if any check failed.
set -uo pipefail

cd "$(dirname "$0")/../.." || exit 2
top=$PWD
deploy=$top/deploy
tmp=$(mktemp -d "${TMPDIR:-/tmp}/smproxy-deploy-check.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
# Never read the user's kubeconfig or talk to a cluster.
export KUBECONFIG=$tmp/no-kubeconfig

failures=0
checks=0
pass() { checks=$((checks + 1)); printf 'ok    %s\n' "$*"; }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); printf 'FAIL  %s\n' "$*"; }
note() { printf 'note  %s\n' "$*"; }
# expect LABEL GOT WANT
expect() {
	if [ "$2" = "$3" ]; then pass "$1 ($2)"; else fail "$1: got '$2', want '$3'"; fi
}
# nonempty LABEL VALUE
nonempty() {
	if [ -n "$2" ]; then pass "$1 ($2)"; else fail "$1: unset"; fi
}

if ! command -v kubectl >/dev/null 2>&1; then
	echo "FAIL  kubectl not found (Debian package kubernetes-client)"
	exit 1
fi

# jp FILE JSONPATH: evaluate JSONPath on every object of FILE, offline
# (missing fields print as empty).
jp() {
	kubectl annotate --local -f "$1" -o "jsonpath=$2" smproxy.io/check=1 2>/dev/null
}

# What is read from every object, as "Kind/name.field=value" lines.
# C is the smproxy container of a Deployment.
C='.spec.template.spec.containers[?(@.name=="smproxy")]'
P='.spec.template.spec'
fields=(
	ns			'.metadata.namespace'
	replicas		'.spec.replicas'
	strategy		'.spec.strategy.type'
	liveness		"$C.livenessProbe.httpGet.path}:{$C.livenessProbe.httpGet.port"
	readiness		"$C.readinessProbe.httpGet.path}:{$C.readinessProbe.httpGet.port"
	startup			"$C.startupProbe.httpGet.path}:{$C.startupProbe.httpGet.port"
	pod.runAsNonRoot	"$P.securityContext.runAsNonRoot"
	pod.runAsUser		"$P.securityContext.runAsUser"
	pod.seccomp		"$P.securityContext.seccompProfile.type"
	c.runAsNonRoot		"$C.securityContext.runAsNonRoot"
	c.runAsUser		"$C.securityContext.runAsUser"
	c.readOnlyRoot		"$C.securityContext.readOnlyRootFilesystem"
	c.privEsc		"$C.securityContext.allowPrivilegeEscalation"
	c.drop			"$C.securityContext.capabilities.drop[*]"
	c.seccomp		"$C.securityContext.seccompProfile.type"
	c.portNames		"$C.ports[*].name"
	c.ports			"$C.ports[*].containerPort"
	c.requests		"$C.resources.requests.cpu}/{$C.resources.requests.memory"
	c.limits		"$C.resources.limits.cpu}/{$C.resources.limits.memory"
	automount		"$P.automountServiceAccountToken"
	grace			"$P.terminationGracePeriodSeconds"
	scrape			'.spec.template.metadata.annotations.prometheus\.io/scrape}/{.spec.template.metadata.annotations.prometheus\.io/port}/{.spec.template.metadata.annotations.prometheus\.io/path'
	svc.type		'.spec.type'
	svc.ports		'.spec.ports[*].name}|{.spec.ports[*].port}|{.spec.ports[*].targetPort'
	c.mounts		"$C.volumeMounts[*].name"
	c.mountsReadOnly	"$C.volumeMounts[*].readOnly"
	np.ingressPorts		'.spec.ingress[*].ports[*].port'
	np.clients		'.spec.ingress[0].from[0].namespaceSelector.matchLabels.smproxy\.io/client'
	np.monitoring		'.spec.ingress[1].from[0].namespaceSelector.matchLabels.kubernetes\.io/metadata\.name'
	np.egressPorts		'.spec.egress[*].ports[*].port'
	pdb.maxUnavailable	'.spec.maxUnavailable'
	sa.automount		'.automountServiceAccountToken'
	cm.upstream_url		'.data.upstream_url'
	cm.iam_url		'.data.iam_url'
	pvc.modes		'.spec.accessModes[*]'
	pvc.size		'.spec.resources.requests.storage'
	sm.endpoint		'.spec.endpoints[*].port}:{.spec.endpoints[*].path'
	sm.selector		'.spec.selector.matchLabels.app\.kubernetes\.io/name'
	store.serviceUrl	'.spec.provider.ibm.serviceUrl'
	store.iamEndpoint	'.spec.provider.ibm.auth.secretRef.iamEndpoint'
	store.apiKeySecret	'.spec.provider.ibm.auth.secretRef.secretApiKeySecretRef.name'
	es.backend		'.spec.backendType'
	es.keyByName		'.spec.keyByName'
	es.remoteKeys		'.spec.data[*].remoteRef.key'
)
# Named list members are read through filters (a JSONPath range over a
# field an object lacks is an error in kubectl).
for e in LISTEN ADMIN_LISTEN UPSTREAM_URL IAM_URL API_KEY_FILE CACHE_PATH \
    CACHE_KEY_FILE CONFIG AUTH RATE_LIMIT TTL MAX_STALE DRAIN_TIMEOUT THREADS \
    LOG_LEVEL; do
	fields+=("env.SMPROXY_$e" "$C.env[?(@.name==\"SMPROXY_$e\")].value}|{$C.env[?(@.name==\"SMPROXY_$e\")].valueFrom.configMapKeyRef.key")
done
for v in cache upstream cache-key config; do
	fields+=("mount.$v" "$C.volumeMounts[?(@.name==\"$v\")].mountPath}|{$C.volumeMounts[?(@.name==\"$v\")].readOnly")
	fields+=("vol.$v" "$P.volumes[?(@.name==\"$v\")].secret.defaultMode}|{$P.volumes[?(@.name==\"$v\")].emptyDir}|{$P.volumes[?(@.name==\"$v\")].persistentVolumeClaim.claimName")
done
K='.spec.template.spec.containers[?(@.name=="kubernetes-external-secrets")]'
for e in ENDPOINT AUTH_TYPE AUTH_URL APIKEY; do
	fields+=("kes.IBM_CLOUD_SECRETS_MANAGER_API_$e" "$K.env[?(@.name==\"IBM_CLOUD_SECRETS_MANAGER_API_$e\")].value}{$K.env[?(@.name==\"IBM_CLOUD_SECRETS_MANAGER_API_$e\")].valueFrom.secretKeyRef.name")
done
template=''
for ((i = 0; i < ${#fields[@]}; i += 2)); do
	template+="{.kind}/{.metadata.name}.${fields[i]}={${fields[i + 1]}}{\"\\n\"}"
done

# load TREE FILE: read every object of FILE into F["TREE:key"].
declare -A F
load() {
	local line n=0
	while IFS= read -r line; do
		[ -n "$line" ] || continue
		F["$1:${line%%=*}"]=${line#*=}
		n=$((n + 1))
	done < <(kubectl annotate --local -f "$2" -o "jsonpath=$template" \
	    smproxy.io/check=1 2> "$tmp/load.err")
	if [ "$n" -eq 0 ]; then
		fail "$1: cannot read the objects: $(grep -m1 -i error "$tmp/load.err")"
	fi
}
# f TREE KEY: a loaded value, or empty.
f() { printf '%s' "${F["$1:$2"]-}"; }

echo "== YAML files under deploy/ parse"
mapfile -t yamls < <(find "$deploy" -type f \( -name '*.yaml' -o -name '*.yml' \) | sort)
if [ ${#yamls[@]} -eq 0 ]; then
	fail "no YAML files found under deploy/"
fi
for y in "${yamls[@]}"; do
	rel=${y#"$top"/}
	if out=$(kubectl annotate --local -f "$y" -o name smproxy.io/check=1 2>&1); then
		pass "$rel parses ($(printf '%s\n' "$out" | wc -l) object(s))"
	else
		fail "$rel: $(printf '%s' "$out" | tail -1)"
	fi
done
if command -v python3 >/dev/null 2>&1 && python3 -c 'import yaml' 2>/dev/null; then
	while IFS= read -r line; do
		case "$line" in
		ok\ *) pass "${line#ok } parses with PyYAML" ;;
		*) fail "PyYAML: $line" ;;
		esac
	done < <(python3 - "$top" "${yamls[@]}" 2>&1 <<'PY'
import os, sys, yaml
top = sys.argv[1]
for path in sys.argv[2:]:
    rel = os.path.relpath(path, top)
    try:
        with open(path) as fh:
            docs = [d for d in yaml.safe_load_all(fh) if d is not None]
        bad = [d for d in docs if not isinstance(d, dict) or "apiVersion" not in d or "kind" not in d]
        print(f"{rel}: a document without apiVersion and kind" if bad or not docs else f"ok {rel}")
    except Exception as e:
        print(f"{rel}: {str(e).splitlines()[0]}")
PY
	)
else
	note "python3 with PyYAML (Debian: python3-yaml) not found: kubectl's parser only"
fi

echo "== kustomize builds"
for k in base overlays/persistent overlays/monitoring; do
	[ -f "$deploy/kubernetes/$k/kustomization.yaml" ] ||
		fail "deploy/kubernetes/$k/kustomization.yaml is missing"
done
mapfile -t kdirs < <(find "$deploy/kubernetes" -name kustomization.yaml -printf '%h\n' | sort)
for d in "${kdirs[@]}"; do
	rel=${d#"$deploy"/kubernetes/}
	out=$tmp/$(printf '%s' "$rel" | tr / _).yaml
	if err=$(kubectl kustomize "$d" 2>&1 > "$out"); then
		pass "kubectl kustomize deploy/kubernetes/$rel ($(grep -c '^kind: ' "$out") objects)"
	else
		fail "kubectl kustomize deploy/kubernetes/$rel: $(printf '%s' "$err" | tail -1)"
		: > "$out"
	fi
done

# cenv TREE NAME: the literal value of the smproxy container's env NAME.
cenv() { local v; v=$(f "$1" "Deployment/smproxy.env.$2"); printf '%s' "${v%|*}"; }

# check_tree TREE FILE: what every rendered tree must hold.
check_tree() {
	local t=$1 r=$2 key bad v drain grace n ro
	local D=Deployment/smproxy

	echo "== rendered $t"
	if [ ! -s "$r" ]; then
		fail "$t: nothing rendered"
		return
	fi
	load "$t" "$r"
	bad=''
	for key in "${!F[@]}"; do
		case "$key" in
		"$t:Namespace/"*) ;;
		"$t:"*/*.ns) [ "${F[$key]}" = smproxy ] || bad+=" ${key#"$t:"}=${F[$key]}" ;;
		esac
	done
	if [ -z "$bad" ]; then
		pass "$t: every namespaced object is in namespace smproxy"
	else
		fail "$t: objects outside namespace smproxy:$bad"
	fi
	if [ -z "$(f "$t" "$D.ns")" ]; then
		fail "$t: no Deployment smproxy"
		return
	fi
	expect "$t: replicas" "$(f "$t" "$D.replicas")" 1
	expect "$t: strategy" "$(f "$t" "$D.strategy")" Recreate
	expect "$t: liveness probe" "$(f "$t" "$D.liveness")" /healthz:admin
	expect "$t: readiness probe" "$(f "$t" "$D.readiness")" /readyz:admin
	expect "$t: startup probe" "$(f "$t" "$D.startup")" /healthz:admin
	expect "$t: pod runAsNonRoot" "$(f "$t" "$D.pod.runAsNonRoot")" true
	expect "$t: pod runAsUser" "$(f "$t" "$D.pod.runAsUser")" 65532
	expect "$t: pod seccompProfile" "$(f "$t" "$D.pod.seccomp")" RuntimeDefault
	expect "$t: container runAsNonRoot" "$(f "$t" "$D.c.runAsNonRoot")" true
	expect "$t: container runAsUser" "$(f "$t" "$D.c.runAsUser")" 65532
	expect "$t: readOnlyRootFilesystem" "$(f "$t" "$D.c.readOnlyRoot")" true
	expect "$t: allowPrivilegeEscalation" "$(f "$t" "$D.c.privEsc")" false
	expect "$t: capabilities drop" "$(f "$t" "$D.c.drop")" ALL
	expect "$t: container seccompProfile" "$(f "$t" "$D.c.seccomp")" RuntimeDefault
	expect "$t: automountServiceAccountToken" "$(f "$t" "$D.automount")" false
	expect "$t: container ports" "$(f "$t" "$D.c.portNames") $(f "$t" "$D.c.ports")" "http admin 8080 9090"
	expect "$t: SMPROXY_LISTEN" "$(cenv "$t" SMPROXY_LISTEN)" 0.0.0.0:8080
	expect "$t: SMPROXY_ADMIN_LISTEN" "$(cenv "$t" SMPROXY_ADMIN_LISTEN)" 0.0.0.0:9090
	expect "$t: SMPROXY_CACHE_PATH" "$(cenv "$t" SMPROXY_CACHE_PATH)" /var/cache/smproxy/cache.db
	expect "$t: SMPROXY_UPSTREAM_URL from the ConfigMap" "$(f "$t" "$D.env.SMPROXY_UPSTREAM_URL")" "|upstream_url"
	expect "$t: SMPROXY_IAM_URL from the ConfigMap" "$(f "$t" "$D.env.SMPROXY_IAM_URL")" "|iam_url"
	expect "$t: SMPROXY_AUTH" "$(cenv "$t" SMPROXY_AUTH)" local
	for v in API_KEY_FILE:upstream CACHE_KEY_FILE:cache-key CONFIG:config; do
		key=$(cenv "$t" "SMPROXY_${v%%:*}")
		case "$key" in
		"$(f "$t" "$D.mount.${v#*:}" | cut -d'|' -f1)"/?*) pass "$t: SMPROXY_${v%%:*} ($key) is on volume ${v#*:}" ;;
		*) fail "$t: SMPROXY_${v%%:*} '$key' is not on volume ${v#*:}" ;;
		esac
	done
	expect "$t: cache volume mount" "$(f "$t" "$D.mount.cache")" "/var/cache/smproxy|"
	drain=$(cenv "$t" SMPROXY_DRAIN_TIMEOUT)
	grace=$(f "$t" "$D.grace")
	if [[ $drain =~ ^[0-9]+$ && $grace =~ ^[0-9]+$ ]] && [ "$grace" -gt "$drain" ]; then
		pass "$t: terminationGracePeriodSeconds $grace > SMPROXY_DRAIN_TIMEOUT $drain"
	else
		fail "$t: terminationGracePeriodSeconds '$grace' must exceed SMPROXY_DRAIN_TIMEOUT '$drain'"
	fi
	for v in requests limits; do
		case "$(f "$t" "$D.c.$v")" in
		?*/?*) pass "$t: resources.$v ($(f "$t" "$D.c.$v"))" ;;
		*) fail "$t: resources.$v cpu/memory unset" ;;
		esac
	done
	for v in upstream cache-key; do
		expect "$t: Secret volume $v defaultMode 0400" "$(f "$t" "$D.vol.$v")" "256||"
	done
	# Every mount but the cache is read-only.
	n=$(f "$t" "$D.c.mounts" | wc -w)
	ro=$(f "$t" "$D.c.mountsReadOnly" | tr ' ' '\n' | grep -c '^true$')
	if [ "$n" -ge 4 ] && [ "$ro" -eq $((n - 1)) ] && [ -z "$(f "$t" "$D.mount.cache" | cut -d'|' -f2)" ]; then
		pass "$t: all $((n - 1)) mounts but the cache are read-only"
	else
		fail "$t: mounts '$(f "$t" "$D.c.mounts")' must all be read-only except cache (readOnly: '$(f "$t" "$D.c.mountsReadOnly")')"
	fi
	expect "$t: Prometheus scrape annotations" "$(f "$t" "$D.scrape")" true/9090//metrics
	expect "$t: Service ports" "$(f "$t" Service/smproxy.svc.ports)" "http metrics|8080 9090|http admin"
	expect "$t: Service type" "$(f "$t" Service/smproxy.svc.type)" ClusterIP
	expect "$t: NetworkPolicy ingress ports" "$(f "$t" NetworkPolicy/smproxy.np.ingressPorts)" "8080 9090"
	expect "$t: NetworkPolicy client namespaces" "$(f "$t" NetworkPolicy/smproxy.np.clients)" true
	expect "$t: NetworkPolicy metrics namespace" "$(f "$t" NetworkPolicy/smproxy.np.monitoring)" monitoring
	expect "$t: NetworkPolicy egress ports" "$(f "$t" NetworkPolicy/smproxy.np.egressPorts)" "53 53 443"
	expect "$t: PodDisruptionBudget maxUnavailable" "$(f "$t" PodDisruptionBudget/smproxy.pdb.maxUnavailable)" 1
	expect "$t: ServiceAccount automount" "$(f "$t" ServiceAccount/smproxy.sa.automount)" false
	nonempty "$t: ConfigMap upstream_url" "$(f "$t" ConfigMap/smproxy-config.cm.upstream_url)"
	nonempty "$t: ConfigMap iam_url" "$(f "$t" ConfigMap/smproxy-config.cm.iam_url)"
	if grep -q '^kind: Secret$' "$r"; then
		fail "$t: renders a Secret; keys must be created with kubectl, not shipped"
	else
		pass "$t: renders no Secret"
	fi

	# config.json: only the ConfigMap prints anything here.
	jp "$r" '{.data.config\.json}' > "$tmp/$t.config.json"
	if command -v python3 >/dev/null 2>&1; then
		if err=$(python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$tmp/$t.config.json" 2>&1); then
			pass "$t: ConfigMap config.json is JSON"
		else
			fail "$t: ConfigMap config.json: $(printf '%s' "$err" | tail -1)"
		fi
	elif command -v jq >/dev/null 2>&1; then
		if jq -e . "$tmp/$t.config.json" >/dev/null 2>&1; then
			pass "$t: ConfigMap config.json is JSON"
		else
			fail "$t: ConfigMap config.json is not JSON"
		fi
	else
		note "$t: neither python3 nor jq: config.json not parsed"
	fi
}

check_tree base "$tmp/base.yaml"
case "$(f base Deployment/smproxy.vol.cache)" in
"|{"*"}|") pass "base: cache volume is an emptyDir" ;;
*) fail "base: cache volume is not an emptyDir: $(f base Deployment/smproxy.vol.cache)" ;;
esac

check_tree persistent "$tmp/overlays_persistent.yaml"
expect "persistent: cache volume" "$(f persistent Deployment/smproxy.vol.cache)" "||smproxy-cache"
expect "persistent: PVC access mode" "$(f persistent PersistentVolumeClaim/smproxy-cache.pvc.modes)" ReadWriteOnce
expect "persistent: PVC size" "$(f persistent PersistentVolumeClaim/smproxy-cache.pvc.size)" 1Gi

check_tree monitoring "$tmp/overlays_monitoring.yaml"
expect "monitoring: ServiceMonitor endpoint" "$(f monitoring ServiceMonitor/smproxy.sm.endpoint)" metrics:/metrics
expect "monitoring: ServiceMonitor selector" "$(f monitoring ServiceMonitor/smproxy.sm.selector)" smproxy

echo "== image recipe (deploy/Dockerfile)"
df=$deploy/Dockerfile
if [ ! -f "$df" ]; then
	fail "deploy/Dockerfile is missing"
else
	# Instructions only: comments dropped, continuation lines joined.
	sed -e 's/^[[:space:]]*#.*$//' "$df" | awk '
		/\\$/ { sub(/\\$/, ""); line = line $0; next }
		{ line = line $0; if (line ~ /[^[:space:]]/) print line; line = "" }
	' > "$tmp/Dockerfile.flat"
	expect "FROM lines" "$(grep -E '^FROM ' "$tmp/Dockerfile.flat" | awk '{print $2}' | tr '\n' ' ')" "debian:12-slim debian:12-slim "
	if grep -q -- '-DBUILD_TESTING=OFF' "$tmp/Dockerfile.flat"; then
		pass "build stage configures with -DBUILD_TESTING=OFF"
	else
		fail "build stage lacks -DBUILD_TESTING=OFF"
	fi
	user=$(grep -E '^USER ' "$tmp/Dockerfile.flat" | tail -1 | awk '{print $2}')
	expect "USER" "$user" "65532:65532"
	expect "image UID matches the Deployment's runAsUser" "${user%%:*}" "$(f base Deployment/smproxy.c.runAsUser)"
	expect "EXPOSE" "$(grep -E '^EXPOSE ' "$tmp/Dockerfile.flat" | sed 's/^EXPOSE[[:space:]]*//')" "8080 9090"
	expect "ENTRYPOINT" "$(grep -E '^ENTRYPOINT ' "$tmp/Dockerfile.flat" | sed 's/^ENTRYPOINT[[:space:]]*//')" '["/usr/local/bin/smproxy"]'
	if grep -q 'SMPROXY_CACHE_PATH=/var/cache/smproxy/cache.db' "$tmp/Dockerfile.flat"; then
		pass "ENV SMPROXY_CACHE_PATH=/var/cache/smproxy/cache.db"
	else
		fail "SMPROXY_CACHE_PATH is not set to the cache volume"
	fi
	runtime=$(awk '/^FROM /{stage++} stage == 2' "$tmp/Dockerfile.flat")
	for pkg in libmicrohttpd12 libcurl4 libjansson4 libsqlite3-0 libsodium23 libssl3 zlib1g ca-certificates; do
		if grep -Eq "(^|[[:space:]])$pkg([[:space:]]|$)" <<<"$runtime"; then
			pass "runtime stage installs $pkg"
		else
			fail "runtime stage does not install $pkg"
		fi
	done
	if grep -Eq -- '-dev([[:space:]]|$)|build-essential|cmake' <<<"$runtime"; then
		fail "runtime stage installs build tools or -dev packages"
	else
		pass "runtime stage installs no build tools"
	fi
	# Every COPY source of the build stage must exist in the repository ...
	copied=' '
	while read -r src; do
		copied+="${src%/} "
		if [ -e "$top/$src" ]; then pass "COPY source $src exists"; else fail "COPY source $src does not exist"; fi
	done < <(awk '/^FROM /{stage++} stage == 1 && /^COPY / && !/--from=/ {for (i = 2; i < NF; i++) print $i}' "$tmp/Dockerfile.flat")
	# ... and every folder CMakeLists.txt globs outside its test-only part
	# must be copied, or left out on purpose by the ignore file (empty glob).
	ignored=" $(grep -v '^#' "$deploy/Dockerfile.dockerignore" 2>/dev/null | tr '\n' ' ') "
	while read -r dir; do
		case "$copied$ignored" in
		*" $dir "*) pass "CMake source folder $dir/ is copied (or ignored on purpose)" ;;
		*) fail "CMakeLists.txt globs $dir/ but deploy/Dockerfile does not COPY it" ;;
		esac
	done < <(sed -n '1,/^include(CTest)/p' "$top/CMakeLists.txt" | grep 'GLOB' |
		grep -oE '[A-Za-z0-9_.-][A-Za-z0-9_./-]*/[A-Za-z0-9_.-]*[*][A-Za-z0-9_.*-]*' |
		sed 's:/[^/]*$::' | sort -u)
fi

echo "== examples"
url=http://smproxy.smproxy.svc:8080
ex=$deploy/examples
for x in kes-deployment-patch.yaml kes-externalsecret.yaml eso-secretstore.yaml eso-externalsecret.yaml curl.md; do
	if [ -f "$ex/$x" ]; then pass "deploy/examples/$x exists"; else fail "deploy/examples/$x is missing"; fi
done
if [ -f "$deploy/README.md" ]; then pass "deploy/README.md exists"; else fail "deploy/README.md is missing"; fi
for y in "$ex"/*.yaml; do printf -- "---\n"; cat "$y"; done > "$tmp/examples.yaml"
load ex "$tmp/examples.yaml"
expect "Service behind $url" "smproxy.$(f base Service/smproxy.ns):$(f base Service/smproxy.svc.ports)" \
    "smproxy.smproxy:http metrics|8080 9090|http admin"
kes=Deployment/secrets-manager-tutorial-kubernetes-external-secrets.kes.IBM_CLOUD_SECRETS_MANAGER_API
expect "KES patch IBM_CLOUD_SECRETS_MANAGER_API_ENDPOINT" "$(f ex "${kes}_ENDPOINT")" "$url"
expect "KES patch IBM_CLOUD_SECRETS_MANAGER_API_AUTH_TYPE" "$(f ex "${kes}_AUTH_TYPE")" iam
expect "KES patch IBM_CLOUD_SECRETS_MANAGER_API_AUTH_URL" "$(f ex "${kes}_AUTH_URL")" "$url"
nonempty "KES patch IBM_CLOUD_SECRETS_MANAGER_API_APIKEY from Secret" "$(f ex "${kes}_APIKEY")"
expect "KES ExternalSecret by id" "$(f ex ExternalSecret/ibmcloud-secrets-manager-example.es.backend)" ibmcloudSecretsManager
expect "KES ExternalSecret by name" \
    "$(f ex ExternalSecret/ibmcloud-secrets-manager-example-by-name.es.backend)/$(f ex ExternalSecret/ibmcloud-secrets-manager-example-by-name.es.keyByName)" \
    ibmcloudSecretsManager/true
expect "ESO SecretStore serviceUrl" "$(f ex SecretStore/smproxy.store.serviceUrl)" "$url"
expect "ESO SecretStore iamEndpoint" "$(f ex SecretStore/smproxy.store.iamEndpoint)" "$url"
nonempty "ESO SecretStore API key Secret" "$(f ex SecretStore/smproxy.store.apiKeySecret)"
case "$(f ex ExternalSecret/example-by-id.es.remoteKeys)" in
username_password/*) pass "ESO ExternalSecret by id ($(f ex ExternalSecret/example-by-id.es.remoteKeys))" ;;
*) fail "ESO ExternalSecret example-by-id: no <type>/<id> key" ;;
esac
case "$(f ex ExternalSecret/example-by-name.es.remoteKeys)" in
*/username_password/*) pass "ESO ExternalSecret by name ($(f ex ExternalSecret/example-by-name.es.remoteKeys))" ;;
*) fail "ESO ExternalSecret example-by-name: no <group>/<type>/<name> key" ;;
esac

echo "== smproxy --check on the shipped configuration"
if [ -n "${SMPROXY_BIN:-}" ] && [ -x "$SMPROXY_BIN" ] && [ -s "$tmp/base.config.json" ]; then
	chk=$tmp/check
	mkdir -m 700 "$chk"
	(umask 077
	 head -c 32 /dev/urandom | base64 > "$chk/cache.key"
	 printf %s upstream-key > "$chk/apikey")
	# The rendered Deployment's literal env, with the paths, URLs and the
	# config file pointed at local stand-ins.
	envs=()
	for key in "${!F[@]}"; do
		case "$key" in
		base:Deployment/smproxy.env.SMPROXY_*)
			v=${F[$key]%|*}
			[ -n "$v" ] && envs+=("${key#base:Deployment/smproxy.env.}=$v")
			;;
		esac
	done
	run_check() {
		env -i PATH=/usr/bin:/bin "${envs[@]}" \
		    SMPROXY_UPSTREAM_URL=https://instance-id.us-south.secrets-manager.appdomain.cloud \
		    SMPROXY_IAM_URL="$(f base ConfigMap/smproxy-config.cm.iam_url)" \
		    SMPROXY_API_KEY_FILE="$chk/apikey" \
		    SMPROXY_CACHE_PATH="$chk/cache.db" \
		    SMPROXY_CACHE_KEY_FILE="$chk/cache.key" \
		    SMPROXY_CONFIG="$1" \
		    "$SMPROXY_BIN" --check 2>&1
	}
	# The placeholders must fail closed ...
	if out=$(run_check "$tmp/base.config.json"); then
		fail "smproxy --check accepts the placeholder client hashes; they must be refused"
	else
		case "$out" in
		*api_key_sha256*) pass "smproxy --check refuses the placeholder client hashes" ;;
		*) fail "smproxy --check: $(printf '%s' "$out" | grep -v '^ts=' | head -2 | tr '\n' ' ')" ;;
		esac
	fi
	# ... and the rest must pass once real hashes are filled in.
	n=0
	cp "$tmp/base.config.json" "$chk/config.json"
	while grep -q 'REPLACE_WITH_SHA256_OF_[A-Z_]*' "$chk/config.json"; do
		n=$((n + 1))
		h=$(printf 'client-key-%d' "$n" | sha256sum | cut -d' ' -f1)
		sed -i "0,/REPLACE_WITH_SHA256_OF_[A-Z_]*/s//$h/" "$chk/config.json"
	done
	if out=$(run_check "$chk/config.json"); then
		pass "smproxy --check accepts config.json (hashes filled in) with the Deployment's env"
	else
		fail "smproxy --check: $(printf '%s' "$out" | grep -v '^ts=' | head -3 | tr '\n' ' ')"
	fi
else
	note "SMPROXY_BIN not set: smproxy --check skipped"
fi

echo
if [ "$failures" -gt 0 ]; then
	echo "deploy checks: $failures of $checks failed"
	exit 1
fi
echo "deploy checks: all $checks passed"
