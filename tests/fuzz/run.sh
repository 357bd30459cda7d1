#!/bin/sh
# Run a libFuzzer binary on its seed corpus for a while.
#
#   tests/fuzz/run.sh FUZZ_BINARY [SECONDS] [SEED_CORPUS_DIR]
#
# (SECONDS and SEED_CORPUS_DIR may come in either order: a whole number is
# the time, a directory the corpus.)
# Builds nothing.  SECONDS defaults to 60; the seed corpus defaults to
# tests/fuzz/corpus/<name> (name = the binary's name without "fuzz_"), and a
# dictionary tests/fuzz/<name>.dict is used when present.  New inputs go to a
# scratch directory, never into the seed corpus.  Crash artifacts are written
# to $FUZZ_ARTIFACTS (default: the current directory).  Exits non-zero when
# the fuzzer finds a crash, a leak or a timeout.
set -eu

usage() {
	echo "usage: $0 FUZZ_BINARY [SECONDS] [SEED_CORPUS_DIR]" >&2
	exit 2
}
[ $# -ge 1 ] && [ $# -le 3 ] || usage
bin=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
name=$(basename "$bin")
name=${name#fuzz_}
seconds=
seeds=
for arg in "$@"; do
	case $arg in
	''|*[!0-9]*)
		[ -z "$seeds" ] || usage
		seeds=$arg ;;
	*)
		[ -z "$seconds" ] || usage
		seconds=$arg ;;
	esac
done
seconds=${seconds:-60}
seeds=${seeds:-$here/corpus/$name}
artifacts=${FUZZ_ARTIFACTS:-.}

if [ ! -x "$bin" ]; then
	echo "$0: $bin is not an executable" >&2
	exit 2
fi
if [ ! -d "$seeds" ]; then
	echo "$0: no seed corpus at $seeds" >&2
	exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/fuzz_$name.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
mkdir -p "$artifacts"

set -- -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$artifacts/"
if [ -f "$here/$name.dict" ]; then
	set -- "$@" -dict="$here/$name.dict"
fi

status=0
"$bin" "$@" "$work" "$seeds" || status=$?
if [ "$status" -ne 0 ]; then
	echo "$0: $bin failed with status $status (artifacts in $artifacts)" >&2
fi
exit "$status"
