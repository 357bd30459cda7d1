#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, and runs every
# test through ctest (unit, integration, fuzz smoke runs, SDK compatibility).
#
#   bash tests/run.sh                 # everything
#   SMPROXY_SANITIZE=1 bash tests/run.sh   # the same under ASan+UBSan
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
jobs=$(nproc)

bash deploy/local/deps.sh test

build=build
extra=()
if [ "${SMPROXY_SANITIZE:-0}" = 1 ]; then
	build=build-asan
	extra+=(-DSMPROXY_SANITIZE=ON)
fi

# libFuzzer targets need clang; they are built apart and run from ctest.
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DSMPROXY_FUZZ=ON \
	-DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j"$jobs" >/dev/null

# The Node SDK, pinned by tests/compat/package-lock.json.
if [ -f tests/compat/package-lock.json ]; then
	(cd tests/compat && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DSMPROXY_FUZZ_BIN_DIR="$top/build-fuzz" "${extra[@]}" >/dev/null
cmake --build "$build" -j"$jobs" >/dev/null
rm -rf "$build/itest-tmp"
ctest --test-dir "$build" --output-on-failure -j2 --timeout 600
