#!/usr/bin/env bash
# Build smproxy and run a local demo: the fake Secrets Manager plus smproxy
# on loopback, with an encrypted SQLite cache and a generated cache key in
# ./.state/demo.  Ctrl-C stops both.
#
#   SMPROXY_LISTEN=127.0.0.1:8080 bash deploy/local/demo.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
top=$PWD

bash deploy/local/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF >/dev/null
cmake --build build -j"$(nproc)" --target smproxy fake_sm >/dev/null

state=$top/.state/demo
mkdir -p "$state"
chmod 700 "$state"
umask 077
[ -s "$state/cache.key" ] || head -c 32 /dev/urandom | base64 > "$state/cache.key"
[ -s "$state/upstream.apikey" ] || echo demo-upstream-key > "$state/upstream.apikey"

rm -f "$state/fake.port"
./build/fake_sm --listen 127.0.0.1:0 --port-file "$state/fake.port" \
	--fixtures tests/fake/fixtures/default.json 2> "$state/fake.log" &
fake_pid=$!
trap 'kill $fake_pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$state/fake.port" ] && break; sleep 0.05; done
fake_url="http://127.0.0.1:$(cat "$state/fake.port")"

listen=${SMPROXY_LISTEN:-127.0.0.1:8080}
proxy=http://$listen
id=$(grep -B1 '"name": "db-creds"' tests/fake/fixtures/default.json | sed -n 's/.*"id": *"\([0-9a-f-]*\)".*/\1/p')
id=${id:-<secret id>}
cat <<TXT

smproxy demo: fake Secrets Manager at $fake_url, smproxy at $proxy
cache: $state/cache.db (key in $state/cache.key)

Try:
  curl -s $proxy/api/v2/secrets/$id
  curl -s $proxy/api/v2/secret_groups/default/secret_types/username_password/secrets/db-creds
  curl -s '$proxy/api/v1/secrets?search=db-creds'
  curl -s $proxy/metrics | grep smproxy_http_requests_total
  curl -s $fake_url/__fake/stats        # what the upstream saw

TXT
./build/smproxy --listen "$listen" --upstream-url "$fake_url" --iam-url "$fake_url" \
	--api-key-file "$state/upstream.apikey" \
	--cache-path "$state/cache.db" --cache-key-file "$state/cache.key" \
	--auth none
