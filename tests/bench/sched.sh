#!/usr/bin/env bash
# sched.sh: the upstream scheduler under load, smproxy against the strongest
# nginx set-up (issue 4).
#
# The fake SM answers at most 20 calls per rolling second (429 beyond) after
# a fixed latency (LATENCY_MS, 50).  nginx: a caching front server
# (proxy_cache, proxy_cache_lock on) chained to a second server block with
# limit_req rate=20r/s burst=1000 (no nodelay) in front of the fake.  Every
# phase runs on a freshly started proxy with an empty cache, after the
# fake's window has cleared and its log was reset:
#   (a) storm: 1000 distinct misses, 100 concurrent connections;
#   (b) coalescing burst: 200 concurrent requests for one uncached secret
#       on 200 already open connections;
#   (c) noisy vs quiet: 1000 misses, 100 concurrent, from 127.0.0.1, and
#       1 s later 10 distinct misses (10 concurrent) from 127.0.0.2.
# The fake's log gives the upstream calls (times, 429s, the busiest rolling
# second); the load generator (loadgen.c, built here) gives client results.
# Phases alternate smproxy / nginx.  Takes about 4 minutes.
#
# Knobs (environment): LATENCY_MS (50), STORM (1000), NOISY (1000),
# CONC (100), BURST (200), QUIET (10), NGINX_WORKERS (1), PHASES ("a b c"),
# SYSTEMS ("smproxy nginx"), NGINX_RATE (20: limit_req rate, r/s),
# SCHED_RESULTS (a file to keep the raw results JSON in).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

LATENCY_MS=${LATENCY_MS:-50}
STORM=${STORM:-1000}
NOISY=${NOISY:-1000}
CONC=${CONC:-100}
BURST=${BURST:-200}
QUIET=${QUIET:-10}
NGINX_WORKERS=${NGINX_WORKERS:-1}
PHASES=${PHASES:-a b c}
SYSTEMS=${SYSTEMS:-smproxy nginx}
RATE=20
NGINX_RATE=${NGINX_RATE:-$RATE}
LIB="python3 $BENCH_DIR/benchlib.py"
FMT=/api/v2/secrets/00000000-0000-4000-8000-%012d
# id ranges: storm [0, STORM), burst STORM, noisy after it, quiet after that
BURST_ID=$STORM
NOISY_FROM=$((STORM + 1))
QUIET_FROM=$((NOISY_FROM + NOISY))
GENERATE=$((QUIET_FROM + QUIET))

bench_init
cc -O2 -std=c11 -o "$WORK/bin/loadgen" "$BENCH_DIR/loadgen.c" -lcurl
LOADGEN="$WORK/bin/loadgen"
bench_log "machine: $(nproc) cores, $(uname -r); nginx $(nginx -v 2>&1 | sed 's/.*\///'); load $(cut -d" " -f1-3 /proc/loadavg); smproxy $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null)+$(git -C "$REPO" status --short 2>/dev/null | wc -l) changed files"
start_fake --generate "$GENERATE"
# The quiet client is a second loopback identity (Linux routes all of
# 127.0.0.0/8 to lo).
curl -sf -o /dev/null --max-time 5 --interface 127.0.0.2 "$FAKE_URL/__fake/stats" ||
	die "cannot connect from 127.0.0.2"
fake_post "latency?ms=$LATENCY_MS"
TOKEN=$(fake_token)
[ -n "$TOKEN" ] || die "no token from the fake IAM"
bench_log "fake_sm on $FAKE_PORT: --generate $GENERATE, limit $RATE/s, latency $LATENCY_MS ms"

# nginx_sched_conf DIR FRONT_PORT LIMITER_PORT
nginx_sched_conf() {
	local d=$1 fport=$2 lport=$3
	mkdir -p "$d"
	{
		nginx_user_line
		cat <<EOF
worker_processes $NGINX_WORKERS;
error_log $d/error.log warn;
events { worker_connections 4096; }
http {
EOF
		nginx_http_common "$d"
		cat <<EOF
  limit_req_zone \$server_name zone=smquota:1m rate=${NGINX_RATE}r/s;
  limit_req_status 429;
  upstream limiter { server 127.0.0.1:$lport; keepalive 256; }
  upstream fake { server 127.0.0.1:$FAKE_PORT; keepalive 64; }
  # The caching front: what clients talk to.
  server {
    listen 127.0.0.1:$fport;
    location = /healthz { return 200 '{"status":"ok"}'; }
    location / {
      proxy_pass http://limiter;
      proxy_cache_lock on;
      proxy_cache_lock_timeout 60s;
      proxy_cache_lock_age 60s;
EOF
		nginx_cache_location
		cat <<EOF
    }
  }
  # The quota: a leaky bucket at the upstream rate, requests queued, not refused.
  server {
    listen 127.0.0.1:$lport;
    server_name limiter;
    location / {
      limit_req zone=smquota burst=1000;
      proxy_pass http://fake;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Authorization "Bearer $TOKEN";
      proxy_read_timeout 120s;
    }
  }
}
EOF
	} >"$d/nginx.conf"
}

# start_system NAME PHASE: a fresh proxy; sets BASE and SYS_PID.
start_system() {
	local sys=$1 ph=$2 d="$WORK/$1-$2"
	mkdir -p "$d"
	case $sys in
	smproxy)
		start_smproxy "smproxy-$ph" "$d/cache.db"
		wait_http "$SP_URL/readyz" 15 || die "smproxy has no upstream token"
		BASE=$SP_URL
		SYS_PID=$SP_PID
		;;
	nginx)
		local fport lport
		fport=$(free_port)
		lport=$(free_port)
		nginx_sched_conf "$d" "$fport" "$lport"
		start_nginx "$d" "http://127.0.0.1:$fport/healthz"
		BASE="http://127.0.0.1:$fport"
		SYS_PID=$NGX_PID
		;;
	esac
}

# A clean fake: its rolling window has emptied, log and counters reset.
reset_fake() {
	sleep 1.2
	fake_post reset
}

RESULTS="$WORK/results.json"
echo '{"smproxy": {}, "nginx": {}}' >"$RESULTS"
record() {	# record SYSTEM PHASE JSON_FILE
	python3 - "$RESULTS" "$1" "$2" "$3" <<'EOF'
import json, sys
path, sysname, phase, f = sys.argv[1:]
r = json.load(open(path))
r[sysname][phase] = json.load(open(f))
json.dump(r, open(path, "w"), indent=1)
EOF
}

phase_a() {
	local sys=$1 d="$WORK/$1-a"
	bench_log "(a) $sys: storm of $STORM distinct misses, $CONC concurrent"
	reset_fake
	"$LOADGEN" -u "$BASE" -f "$FMT" -a 0 -n "$STORM" -c "$CONC" -T 150 -t 120 \
	    -l "storm-$sys" -o "$d/storm.json"
	curl -sf --max-time 10 "$FAKE_URL/__fake/log" >"$d/fakelog.json"
	$LIB sched-storm "$d/fakelog.json" "$d/storm.json" "$RATE" >"$d/result.json"
	record "$sys" storm "$d/result.json"
	bench_log "(a) $sys: $(cat "$d/result.json")"
}

phase_b() {
	local sys=$1 d="$WORK/$1-b"
	bench_log "(b) $sys: $BURST concurrent requests for one uncached secret"
	reset_fake
	"$LOADGEN" -u "$BASE" -f "$FMT" -a "$BURST_ID" -s -n "$BURST" -c "$BURST" -w /healthz \
	    -T 60 -t 30 -l "burst-$sys" -o "$d/burst.json"
	curl -sf --max-time 10 "$FAKE_URL/__fake/log" >"$d/fakelog.json"
	# The same burst again, now cached: what the harness itself adds
	# (sending 200 requests and reading 200 answers on two cores).
	"$LOADGEN" -u "$BASE" -f "$FMT" -a "$BURST_ID" -s -n "$BURST" -c "$BURST" -w /healthz \
	    -T 60 -t 30 -l "burst-cached-$sys" -o "$d/burst-cached.json"
	$LIB sched-burst "$d/fakelog.json" "$d/burst.json" \
	    "$(printf '00000000-0000-4000-8000-%012d' "$BURST_ID")" "$LATENCY_MS" \
	    "$d/burst-cached.json" >"$d/result.json"
	record "$sys" burst "$d/result.json"
	bench_log "(b) $sys: $(cat "$d/result.json")"
}

phase_c() {
	local sys=$1 d="$WORK/$1-c" t0 npid
	bench_log "(c) $sys: noisy $NOISY misses x$CONC from 127.0.0.1, quiet $QUIET misses from 127.0.0.2 1 s later"
	reset_fake
	t0=$(($(date +%s%3N) + 300))
	"$LOADGEN" -u "$BASE" -f "$FMT" -a "$NOISY_FROM" -n "$NOISY" -c "$CONC" -S "$t0" \
	    -T 150 -t 120 -l "noisy-$sys" -o "$d/noisy.json" &
	npid=$!
	BENCH_PIDS+=("$npid")
	"$LOADGEN" -u "$BASE" -f "$FMT" -a "$QUIET_FROM" -n "$QUIET" -c "$QUIET" \
	    -I 127.0.0.2 -S $((t0 + 1000)) -T 120 -t 110 -l "quiet-$sys" -o "$d/quiet.json"
	bench_log "(c) $sys: quiet client: $(cat "$d/quiet.json")"
	wait "$npid" || true
	curl -sf --max-time 10 "$FAKE_URL/__fake/log" >"$d/fakelog.json"
	$LIB sched-quiet "$d/fakelog.json" "$d/noisy.json" "$d/quiet.json" >"$d/result.json"
	record "$sys" quiet "$d/result.json"
	bench_log "(c) $sys: $(cat "$d/result.json")"
}

for ph in $PHASES; do
	for sys in $SYSTEMS; do
		start_system "$sys" "$ph"
		"phase_$ph" "$sys"
		if [ "$sys" = smproxy ]; then
			bench_log "smproxy: window_max $(sp_metric "$BASE" smproxy_upstream_rate_window_max), effective rate $(sp_metric "$BASE" smproxy_upstream_rate_limit), coalesced $(sp_metric "$BASE" smproxy_coalesced_requests_total)"
		fi
		stop_pid "$SYS_PID"
	done
done

echo
echo "## Scheduler: fake SM at $RATE calls per rolling second, $LATENCY_MS ms latency; nginx worker_processes $NGINX_WORKERS, limit_req rate=${NGINX_RATE}r/s"
echo
$LIB sched-table "$RESULTS" "$LATENCY_MS"
if [ -n "${SCHED_RESULTS:-}" ]; then cp "$RESULTS" "$SCHED_RESULTS"; fi

bench_log "done; load $(cut -d" " -f1-3 /proc/loadavg)"
