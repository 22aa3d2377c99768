#!/usr/bin/env bash
# Ingest benchmark: how long pollbridge takes to parse large upstream JSON
# documents, beside nlohmann::json parsing the same bytes (docs/benchmarks.md,
# "Ingest: parsing upstream JSON"); then a 1 MB document in each upstream
# format (JSON, XML, CSV, HTML) through ingest::decode and select, in MB/s and
# CPU per poll, beside the bare library doing only the parse (nlohmann::json,
# xmlReadMemory, the CSV reader alone, htmlReadMemory): docs/benchmarks.md,
# "Ingest: upstream formats". A format whose parse mode is not built yet says
# "not built".
#
#   scripts/bench-ingest.sh            # objects of 10k, 100k, 1M members;
#                                      # an array of 100k objects; 5 runs each
#   scripts/bench-ingest.sh --quick    # 10k and 100k members, 3 runs
#
# Builds the pb-ingest-bench target (scripts/bench/ingest_bench.cpp) in
# Release and prints a Markdown table: the median parse time of each
# document with both parsers, their ratio, and pollbridge's time per member
# (flat when parsing is linear), after a line naming the machine.
#
# Environment:
#   RUNS=5   MEMBERS=10000,100000,1000000   ARRAY=100000 (0: no array row)
#   FORMAT_BYTES=1048576 (0: no format table)
#   BUILD_DIR=<repo>/build-bench   JOBS=<ninja's default> (parallel compile jobs)
# Flags: --quick, --no-build, -h|--help
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=1
QUICK=0
for arg in "$@"; do
  case "$arg" in
    --quick) QUICK=1 ;;
    --no-build) BUILD=0 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $arg (try --help)" >&2; exit 2 ;;
  esac
done
if [[ $QUICK == 1 ]]; then
  RUNS=${RUNS:-3}
  MEMBERS=${MEMBERS:-10000,100000}
fi
RUNS=${RUNS:-5}
MEMBERS=${MEMBERS:-10000,100000,1000000}
ARRAY=${ARRAY:-100000}
FORMAT_BYTES=${FORMAT_BYTES:-1048576}
BUILD_DIR=${BUILD_DIR:-$ROOT/build-bench}

log() { printf '==> %s\n' "$*" >&2; }

BIN="$BUILD_DIR/pb-ingest-bench"
if [[ $BUILD == 1 ]]; then
  export CMAKE_CXX_COMPILER_LAUNCHER=${CMAKE_CXX_COMPILER_LAUNCHER:-$(command -v ccache || true)}
  log "building pb-ingest-bench (Release, $BUILD_DIR)"
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPB_BUILD_TESTS=OFF >/dev/null
  cmake --build "$BUILD_DIR" ${JOBS:+-j "$JOBS"} --target pb-ingest-bench >/dev/null
fi
[[ -x $BIN ]] || { echo "bench-ingest: $BIN missing (run without --no-build)" >&2; exit 1; }

model=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
printf 'Machine: %s CPUs (nproc), %s; load average %s\n\n' "$(nproc)" "${model:-unknown CPU}" \
  "$(cut -d' ' -f1-3 /proc/loadavg)"
"$BIN" --runs "$RUNS" --members "$MEMBERS" --array "$ARRAY" --format-bytes "$FORMAT_BYTES"
