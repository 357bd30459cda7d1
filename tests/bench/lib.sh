# Shared helpers for hits.sh and sched.sh (sourced, not run).
#
# Every process a script starts is recorded in BENCH_PIDS and stopped by the
# EXIT trap; every address used is on 127.0.0.0/8.  Scratch files live in
# one directory under /dev/shm (tmpfs), removed on exit unless
# BENCH_KEEP=1.
#
# Environment:
#   SMPROXY_BIN, FAKE_BIN   use these binaries instead of building
#   BENCH_BUILD_DIR         build directory (default: <repo>/build-bench)
#   BENCH_KEEP=1            keep the scratch directory (its path is printed)

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/../.." && pwd)
BENCH_PIDS=()
WORK=""

bench_log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { bench_log "error: $*"; exit 1; }

bench_cleanup() {
	local pid i
	for ((i = ${#BENCH_PIDS[@]} - 1; i >= 0; i--)); do
		pid=${BENCH_PIDS[i]}
		kill -0 "$pid" 2>/dev/null && kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${BENCH_PIDS[@]}"; do
		for _ in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	done
	if [ -n "$WORK" ] && [ -d "$WORK" ]; then
		if [ "${BENCH_KEEP:-0}" = 1 ]; then
			bench_log "scratch kept in $WORK"
		else
			rm -rf "$WORK"
		fi
	fi
}

# Stop one process we started (TERM, then KILL after 10 s).
stop_pid() {
	local pid=$1
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

bench_init() {
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
	bash "$REPO/deploy/local/deps.sh" bench
	command -v wrk >/dev/null || die "wrk is missing"
	command -v nginx >/dev/null || die "nginx is missing"
	command -v python3 >/dev/null || die "python3 is missing"
	WORK=$(mktemp -d /dev/shm/smproxy-bench.XXXXXX)
	bench_build
}

# Build (or take) the binaries and copy them, so a concurrent rebuild of the
# tree cannot swap them under a running benchmark.  A failed build is
# retried twice, 20 s apart (the tree may be mid-edit).
bench_build() {
	local bdir=${BENCH_BUILD_DIR:-$REPO/build-bench} try
	if [ -z "${SMPROXY_BIN:-}" ] || [ -z "${FAKE_BIN:-}" ]; then
		for try in 1 2 3; do
			if cmake -S "$REPO" -B "$bdir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
			    -DBUILD_TESTING=OFF >"$WORK/build.log" 2>&1 &&
			    cmake --build "$bdir" --target smproxy fake_sm -j2 \
			    >>"$WORK/build.log" 2>&1; then
				break
			fi
			[ "$try" = 3 ] && { tail -20 "$WORK/build.log" >&2; die "build failed"; }
			bench_log "build failed (try $try); retrying in 20 s"
			sleep 20
		done
		SMPROXY_BIN=${SMPROXY_BIN:-$bdir/smproxy}
		FAKE_BIN=${FAKE_BIN:-$bdir/fake_sm}
	fi
	mkdir -p "$WORK/bin"
	cp "$SMPROXY_BIN" "$WORK/bin/smproxy"
	cp "$FAKE_BIN" "$WORK/bin/fake_sm"
	SMPROXY="$WORK/bin/smproxy"
	FAKE="$WORK/bin/fake_sm"
	head -c 32 /dev/urandom | base64 >"$WORK/cache.key"
	printf '%s' demo-upstream-key >"$WORK/upstream.apikey"
	chmod 600 "$WORK/cache.key" "$WORK/upstream.apikey"
}

# A free TCP port on 127.0.0.1 (the caller checks its server came up).
free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# wait_http URL [SECONDS] [EXPECTED_CODE]: poll until URL answers CODE.
wait_http() {
	local url=$1 secs=${2:-10} want=${3:-200} i code
	for ((i = 0; i < secs * 20; i++)); do
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url" || true)
		[ "$code" = "$want" ] && return 0
		sleep 0.05
	done
	return 1
}

# start_fake ARGS...: sets FAKE_PORT, FAKE_PID, FAKE_URL.
start_fake() {
	local pf="$WORK/fake.port"
	rm -f "$pf"
	"$FAKE" --listen 127.0.0.1:0 --port-file "$pf" "$@" 2>>"$WORK/fake.log" &
	FAKE_PID=$!
	BENCH_PIDS+=("$FAKE_PID")
	for _ in $(seq 1 600); do
		[ -s "$pf" ] && break
		kill -0 "$FAKE_PID" 2>/dev/null || die "fake_sm exited: $(tail -3 "$WORK/fake.log")"
		sleep 0.05
	done
	[ -s "$pf" ] || die "fake_sm did not start"
	FAKE_PORT=$(cat "$pf")
	FAKE_URL="http://127.0.0.1:$FAKE_PORT"
	wait_http "$FAKE_URL/__fake/stats" 30 || die "fake_sm does not answer"
}

fake_post() { curl -sf -X POST --max-time 5 "$FAKE_URL/__fake/$1" >/dev/null; }

# An upstream bearer token from the fake IAM (valid for an hour).
fake_token() {
	curl -sf --max-time 5 -X POST "$FAKE_URL/identity/token" \
	    -H 'Content-Type: application/x-www-form-urlencoded' \
	    -d 'grant_type=urn:ibm:params:oauth:grant-type:apikey&apikey=demo-upstream-key' |
	    python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])'
}

# start_smproxy NAME CACHE_DB ARGS...: sets SP_PORT, SP_PID, SP_URL.
# Retries on another port if the chosen one was taken meanwhile.
start_smproxy() {
	local name=$1 db=$2 try
	shift 2
	for try in 1 2 3; do
		SP_PORT=$(free_port)
		"$SMPROXY" --listen "127.0.0.1:$SP_PORT" \
		    --upstream-url "$FAKE_URL" --iam-url "$FAKE_URL" \
		    --api-key-file "$WORK/upstream.apikey" \
		    --cache-path "$db" --cache-key-file "$WORK/cache.key" \
		    --auth none --log-level warn "$@" 2>>"$WORK/$name.log" &
		SP_PID=$!
		BENCH_PIDS+=("$SP_PID")
		SP_URL="http://127.0.0.1:$SP_PORT"
		if wait_http "$SP_URL/healthz" 30 && kill -0 "$SP_PID" 2>/dev/null; then
			return 0
		fi
		stop_pid "$SP_PID"
		bench_log "smproxy $name did not start on $SP_PORT (try $try)"
	done
	die "smproxy $name does not start: $(tail -3 "$WORK/$name.log")"
}

# start_nginx DIR: runs DIR/nginx.conf (written by the caller); sets NGX_PID.
start_nginx() {
	local d=$1 url=$2
	mkdir -p "$d/tmp" "$d/cache"
	nginx -t -q -p "$d" -c "$d/nginx.conf" -g "daemon off; pid $d/nginx.pid;" \
	    2>>"$d/start.log" || die "nginx config: $(tail -3 "$d/start.log")"
	nginx -p "$d" -c "$d/nginx.conf" -g "daemon off; pid $d/nginx.pid;" \
	    2>>"$d/start.log" &
	NGX_PID=$!
	BENCH_PIDS+=("$NGX_PID")
	wait_http "$url" 10 || die "nginx in $d does not answer: $(tail -3 "$d/start.log" "$d/error.log" 2>/dev/null)"
	kill -0 "$NGX_PID" 2>/dev/null || die "nginx in $d exited"
}

# "user root;" when we run as root (workers must read the 0700 scratch dir).
nginx_user_line() {
	[ "$(id -u)" -eq 0 ] && echo "user root;"
	return 0
}

# Common nginx http{} settings: no access log, big keep-alive, temp paths
# in DIR, the proxy cache on tmpfs.
nginx_http_common() {
	local d=$1
	cat <<EOF
  access_log off;
  sendfile on;
  tcp_nodelay on;
  keepalive_requests 10000000;
  keepalive_timeout 120s;
  client_body_temp_path $d/tmp/body;
  proxy_temp_path $d/tmp/proxy;
  fastcgi_temp_path $d/tmp/fastcgi;
  uwsgi_temp_path $d/tmp/uwsgi;
  scgi_temp_path $d/tmp/scgi;
  proxy_cache_path $d/cache levels=1:2 keys_zone=sm:64m max_size=4g inactive=60m use_temp_path=off;
EOF
}

# The proxy_cache settings of a caching location.
nginx_cache_location() {
	cat <<'EOF'
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache sm;
      proxy_cache_key $uri;
      proxy_cache_valid 200 5m;
      proxy_ignore_headers Cache-Control Expires Set-Cookie Vary X-Accel-Expires X-Accel-Buffering;
      proxy_read_timeout 120s;
      add_header X-Cache $upstream_cache_status;
EOF
}

# smproxy /metrics value of one series (exact name+labels), 0 if absent.
sp_metric() {
	curl -s --max-time 5 "$1/metrics" | awk -v k="$2" '$1 == k { print $2; f = 1 } END { if (!f) print 0 }'
}
