#!/usr/bin/env bash
# hits.sh: cache hits, smproxy against nginx proxy_cache (issue 3).
#
# Part 1: one ~560-byte JSON secret, warm in every cache; wrk -t1 -c32
# -d10s --latency against each target in turn, ROUNDS rounds, the order
# rotated every round; medians of req/s, p50, p99 and the smproxy/nginx
# req/s ratio (per round, then the median).  Targets: smproxy --threads 1
# and 2, nginx worker_processes 1 and auto.
# Part 2: hit latency against cache size: 1k, 10k, 100k secrets read once
# through a warm-up proxy (--rate-limit 5000, fake --rate-limit 0); then
# smproxy --threads 1 and 2 start on copies of that cache, read every id
# once (hits that fill the in-memory index in front of SQLite), and wrk
# with random_ids.lua (a random id of the warmed range per request) runs
# against them in turn.
#
# Knobs (environment): ROUNDS (3), DURATION (10s), CONNS (32),
# THREADS_LIST ("1 2"), NGINX_WORKERS ("1 auto"), SIZES ("1000 10000
# 100000"), SIZE_ROUNDS (2), SIZE_DURATION (5s), WARM_RATE (5000),
# WARM_CHUNK (WARM_RATE - 100), SKIP_SIZES=1, SKIP_HITS=1.
# Takes about 4 minutes with the defaults.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-32}
THREADS_LIST=${THREADS_LIST:-1 2}
NGINX_WORKERS=${NGINX_WORKERS:-1 auto}
SIZES=${SIZES:-1000 10000 100000}
SIZE_ROUNDS=${SIZE_ROUNDS:-2}
WARM_RATE=${WARM_RATE:-5000}
WARM_CHUNK=${WARM_CHUNK:-$((WARM_RATE - 100))}
SIZE_DURATION=${SIZE_DURATION:-5s}
LIB="python3 $BENCH_DIR/benchlib.py"
FMT=/api/v2/secrets/00000000-0000-4000-8000-%012d
HIT_PATH=/api/v2/secrets/00000000-0000-4000-8000-000000000000
HITS_ROUTE='smproxy_http_requests_total{route="/api/v2/secrets/{id}",code="200",cache="hit"}'
MISS_ROUTE='smproxy_http_requests_total{route="/api/v2/secrets/{id}",code="200",cache="miss"}'

bench_init
cc -O2 -std=c11 -o "$WORK/bin/loadgen" "$BENCH_DIR/loadgen.c" -lcurl
LOADGEN="$WORK/bin/loadgen"

max=1
for n in $SIZES; do [ "$n" -gt "$max" ] && max=$n; done
bench_log "machine: $(nproc) cores, $(uname -r); nginx $(nginx -v 2>&1 | sed 's/.*\///'); load $(cut -d" " -f1-3 /proc/loadavg); smproxy $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null)+$(git -C "$REPO" status --short 2>/dev/null | wc -l) changed files; wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}')"
bench_log "starting fake_sm --generate $max --rate-limit 0"
start_fake --generate "$max" --rate-limit 0
TOKEN=$(fake_token)
[ -n "$TOKEN" ] || die "no token from the fake IAM"

# nginx_hits_conf DIR PORT WORKERS: a caching proxy in front of the fake.
nginx_hits_conf() {
	local d=$1 port=$2 workers=$3
	mkdir -p "$d"
	{
		nginx_user_line
		cat <<EOF
worker_processes $workers;
error_log $d/error.log warn;
events { worker_connections 4096; }
http {
EOF
		nginx_http_common "$d"
		cat <<EOF
  upstream fake { server 127.0.0.1:$FAKE_PORT; keepalive 32; }
  server {
    listen 127.0.0.1:$port;
    location = /healthz { return 200 '{"status":"ok"}'; }
    location / {
      proxy_pass http://fake;
      proxy_set_header Authorization "Bearer $TOKEN";
EOF
		nginx_cache_location
		cat <<EOF
    }
  }
}
EOF
	} >"$d/nginx.conf"
}

# warm_one URL: ask twice; the second answer must be a cache hit.
warm_one() {
	local url=$1 h
	curl -s -o /dev/null --max-time 10 "$url"
	h=$(curl -s -D - -o /dev/null --max-time 10 "$url" | tr -d '\r' |
	    awk -F': ' 'tolower($1) == "x-smproxy-cache" || tolower($1) == "x-cache" { print tolower($2) }')
	[ "$h" = hit ] || die "$url is not a cache hit after warming (got '$h')"
}

# ---------------------------------------------------------------- part 1
if [ "${SKIP_HITS:-0}" != 1 ]; then
	declare -A URL SPURL PIDOF
	TARGETS=()
	for t in $THREADS_LIST; do
		name="smproxy-t$t"
		mkdir -p "$WORK/$name"
		start_smproxy "$name" "$WORK/$name/cache.db" --threads "$t"
		URL[$name]="$SP_URL$HIT_PATH"
		SPURL[$name]=$SP_URL
		PIDOF[$name]=$SP_PID
		TARGETS+=("$name")
	done
	for w in $NGINX_WORKERS; do
		name="nginx-w$w"
		port=$(free_port)
		nginx_hits_conf "$WORK/$name" "$port" "$w"
		start_nginx "$WORK/$name" "http://127.0.0.1:$port/healthz"
		URL[$name]="http://127.0.0.1:$port$HIT_PATH"
		PIDOF[$name]=$NGX_PID
		TARGETS+=("$name")
	done
	for name in "${TARGETS[@]}"; do
		warm_one "${URL[$name]}"
	done
	body=$(curl -s --max-time 5 "${URL[${TARGETS[0]}]}" | wc -c)
	bench_log "part 1: ${#TARGETS[@]} targets, $ROUNDS rounds of wrk -t1 -c$CONNS -d$DURATION --latency, body $body bytes"
	: >"$WORK/hits.jsonl"
	n=${#TARGETS[@]}
	for ((r = 1; r <= ROUNDS; r++)); do
		for ((i = 0; i < n; i++)); do
			name=${TARGETS[$(((i + r - 1) % n))]}
			wrk -t1 -c"$CONNS" -d"$DURATION" --timeout 5s --latency "${URL[$name]}" \
			    >"$WORK/wrk-$name-$r.txt" 2>&1 || true
			$LIB wrk "$WORK/wrk-$name-$r.txt" "$name" "$r" | tee -a "$WORK/hits.jsonl" >&2
		done
	done
	for name in "${TARGETS[@]}"; do
		case $name in smproxy*)
			bench_log "$name: hits $(sp_metric "${SPURL[$name]}" "$HITS_ROUTE"), misses $(sp_metric "${SPURL[$name]}" "$MISS_ROUTE")"
		esac
	done
	for name in "${TARGETS[@]}"; do
		stop_pid "${PIDOF[$name]}"
	done
	echo
	echo "## Cache hits: one secret ($body bytes), wrk -t1 -c$CONNS -d$DURATION, $ROUNDS rounds, medians"
	echo
	$LIB hits-table "$WORK/hits.jsonl"
	echo
fi

# ---------------------------------------------------------------- part 2
if [ "${SKIP_SIZES:-0}" != 1 ]; then
	: >"$WORK/sizes.jsonl"
	for size in $SIZES; do
		d="$WORK/size-$size"
		mkdir -p "$d/warm"
		# The warm-up proxy is restarted every WARM_CHUNK misses: once a
		# proxy has started --rate-limit upstream requests, each further
		# start costs O(rate^2) in the limiter (see README.md), which at
		# 5000/s would make 100k misses take many minutes.
		t0=$(date +%s.%N)
		for ((from = 0; from < size; from += WARM_CHUNK)); do
			cnt=$((size - from < WARM_CHUNK ? size - from : WARM_CHUNK))
			start_smproxy "warm-$size" "$d/warm/cache.db" --rate-limit "$WARM_RATE" \
			    --ttl 3600 --threads 2
			"$LOADGEN" -u "$SP_URL" -f "$FMT" -a "$from" -n "$cnt" -c 64 -T 120 -t 60 \
			    -l "warm-$size-$from" -o "$d/warm.json"
			ok=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ok"])' "$d/warm.json")
			[ "$ok" = "$cnt" ] || die "warm-up of ids $from+$cnt: only $ok ok ($(cat "$d/warm.json"))"
			stop_pid "$SP_PID"
		done
		t1=$(date +%s.%N)
		bench_log "warmed $size secrets in $(python3 -c "print('%.1f' % ($t1 - $t0))") s"
		declare -A SURL SPID
		STARGETS=()
		for t in $THREADS_LIST; do
			mkdir -p "$d/t$t"
			cp "$d"/warm/cache.db* "$d/t$t/"
			start_smproxy "size-$size-t$t" "$d/t$t/cache.db" --ttl 3600 --threads "$t"
			entries=$(sp_metric "$SP_URL" smproxy_cache_entries)
			[ "$entries" = "$size" ] || bench_log "note: threads=$t size=$size: smproxy_cache_entries=$entries"
			# A restarted proxy has the rows in SQLite but not yet in
			# its in-memory index: read every id once (all hits).
			"$LOADGEN" -u "$SP_URL" -f "$FMT" -a 0 -n "$size" -c 32 -T 60 -t 30 \
			    -l "read-$size-t$t" -o "$d/read-t$t.json"
			bench_log "size $size threads=$t: read pass $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("%d ok in %.1f s, cache %s" % (d["ok"], d["elapsed_ms"] / 1000, d["cache"]))' "$d/read-t$t.json")"
			SURL[$t]=$SP_URL
			SPID[$t]=$SP_PID
			STARGETS+=("$t")
		done
		for ((r = 1; r <= SIZE_ROUNDS; r++)); do
			for ((i = 0; i < ${#STARGETS[@]}; i++)); do
				t=${STARGETS[$(((i + r - 1) % ${#STARGETS[@]}))]}
				f="$WORK/wrk-size-$size-t$t-$r.txt"
				wrk -t1 -c"$CONNS" -d"$SIZE_DURATION" --timeout 5s --latency \
				    -s "$BENCH_DIR/random_ids.lua" "${SURL[$t]}/" -- "$size" >"$f" 2>&1 || true
				$LIB wrk "$f" "threads=$t/$size" "$r" | tee -a "$WORK/sizes.jsonl" >&2
			done
		done
		for t in "${STARGETS[@]}"; do
			bench_log "size $size threads=$t: hits $(sp_metric "${SURL[$t]}" "$HITS_ROUTE"), misses $(sp_metric "${SURL[$t]}" "$MISS_ROUTE")"
			stop_pid "${SPID[$t]}"
		done
		rm -rf "$d"
	done
	echo "## Hit latency against cache size: random ids over the cached range, wrk -t1 -c$CONNS -d$SIZE_DURATION, $SIZE_ROUNDS rounds, medians"
	echo
	$LIB sizes-table "$WORK/sizes.jsonl"
fi

bench_log "done; load $(cut -d" " -f1-3 /proc/loadavg)"
