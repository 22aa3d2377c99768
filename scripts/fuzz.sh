#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (in build-fuzz) and
# runs each for a bounded time; fails on any crash, sanitizer report,
# violated property, timeout or out-of-memory. docs/fuzzing.md says what each
# target checks.
#
#   scripts/fuzz.sh                        every target, 60 s of fuzzing in all
#   scripts/fuzz.sh -t 600 json_patch      one target for 10 minutes
#   scripts/fuzz.sh -t 3600 -j 2           every target, an hour in all, 2 at a time
#
# New inputs go to build-fuzz/fuzz-run/<target>/corpus (kept between runs, so
# a later run continues where the last one stopped); the seed corpus in
# tests/fuzz/corpus/<target> is only read. Crash artifacts go to
# build-fuzz/fuzz-run/<target>/artifacts; replay one with
#   build-fuzz/tests/fuzz/fuzz_<target> <artifact>
set -euo pipefail
cd "$(dirname "$0")/.."

total=60   # seconds of fuzzing, shared by the targets
parallel=1 # targets run at once
build=build-fuzz
targets=()
while (($#)); do
  case $1 in
    -t | --time) total=$2 && shift 2 ;;
    -j | --jobs) parallel=$2 && shift 2 ;;
    -h | --help) sed -n '2,16p' "$0" && exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2 && exit 2 ;;
    *) targets+=("$1") && shift ;;
  esac
done
if ((${#targets[@]} == 0)); then
  for f in tests/fuzz/fuzz_*.cpp; do
    f=${f##*/fuzz_}
    targets+=("${f%.cpp}")
  done
fi

scripts/deps.sh build test
CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ -DPB_FUZZ=ON -DPB_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" --target fuzz_targets

# Each target gets an equal share of the time (at least 1 s).
per=$((total * parallel / ${#targets[@]}))
((per < 1)) && per=1
# A target that runs past its time by this much is hung (libFuzzer's own
# -timeout catches one slow input; this catches the rest, e.g. the report
# of an out-of-memory that never ends).
grace=120
export UBSAN_OPTIONS=print_stacktrace=1

run_one() { # <target>
  local t=$1 dir=$build/fuzz-run/$1
  local bin=$build/tests/fuzz/fuzz_$t
  mkdir -p "$dir/corpus" "$dir/artifacts"
  local args=(-max_total_time="$per" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
    -artifact_prefix="$dir/artifacts/")
  [[ -f tests/fuzz/$t.dict ]] && args+=(-dict="tests/fuzz/$t.dict")
  local rc=0
  timeout -s KILL $((per + grace)) "$bin" "${args[@]}" "$dir/corpus" "tests/fuzz/corpus/$t" \
    >"$dir/log" 2>&1 || rc=$?
  echo "$rc" >"$dir/rc"
}

for t in "${targets[@]}"; do
  [[ -d tests/fuzz/corpus/$t ]] || { echo "fuzz.sh: no target $t" >&2 && exit 2; }
  rm -f "$build/fuzz-run/$t/rc"
done
echo "fuzzing ${#targets[@]} target(s), ${per} s each, $parallel at a time"
running=0
for t in "${targets[@]}"; do
  run_one "$t" &
  running=$((running + 1))
  if ((running >= parallel)); then
    wait -n || true
    running=$((running - 1))
  fi
done
wait

final_stat() { # <log> <name>
  sed -n "s/^stat::$2: *//p" "$1" | tail -1
}
failed=0
printf '%-16s %12s %10s %10s %8s  %s\n' target inputs "inputs/s" "new units" "rss MB" result
for t in "${targets[@]}"; do
  dir=$build/fuzz-run/$t
  rc=$(cat "$dir/rc" 2>/dev/null || echo 1)
  result=ok
  if [[ $rc != 0 ]]; then
    result="FAILED (exit $rc)"
    failed=1
  fi
  printf '%-16s %12s %10s %10s %8s  %s\n' "$t" "$(final_stat "$dir/log" number_of_executed_units)" \
    "$(final_stat "$dir/log" average_exec_per_sec)" "$(final_stat "$dir/log" new_units_added)" \
    "$(final_stat "$dir/log" peak_rss_mb)" "$result"
done
for t in "${targets[@]}"; do
  dir=$build/fuzz-run/$t
  [[ $(cat "$dir/rc" 2>/dev/null || echo 1) == 0 ]] && continue
  echo "==> $t failed; the end of $dir/log:"
  grep -v '^#[0-9]' "$dir/log" | tail -n 40
  ls -1 "$dir/artifacts" | sed "s|^|    artifact: $dir/artifacts/|"
done
exit $failed
