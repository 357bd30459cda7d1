#!/usr/bin/env bash
# Install the Debian 12 packages smproxy needs, only those that are missing.
#   deps.sh          build and run (the demo)
#   deps.sh test     also what the test suite needs (clang for the fuzzers,
#                    Node.js for the SDK tests, promtool, kubectl)
#   deps.sh bench    also nginx and wrk for the benchmarks
set -euo pipefail

want=(build-essential cmake pkg-config ca-certificates curl
      libmicrohttpd-dev libcurl4-openssl-dev libjansson-dev libsqlite3-dev
      libsodium-dev libssl-dev zlib1g-dev libcmocka-dev sqlite3)
case "${1:-}" in
test)
	want+=(clang libclang-rt-dev valgrind prometheus openssl python3-yaml)
	command -v node >/dev/null 2>&1 || want+=(nodejs)
	command -v npm >/dev/null 2>&1 || want+=(npm)
	# Some images ship kubectl from another source; Debian's would clash.
	command -v kubectl >/dev/null 2>&1 || want+=(kubernetes-client)
	;;
bench)
	want+=(nginx-light wrk)
	;;
esac

missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}" >&2
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq
	$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
