#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls this). On a fresh Debian
# machine as root it installs what it needs, then:
#   1. checks formatting (.clang-format),
#   2. builds with -Werror and runs every unit and integration test,
#   3. does it again under AddressSanitizer + UndefinedBehaviorSanitizer,
#   4. runs the threaded tests under ThreadSanitizer,
#   4b. builds the core with clang's thread-safety analysis (lock annotations),
#   4c. fuzzes the parsers of outside input (libFuzzer, about 60 s in all),
#   5. builds the Debian package and tests it (contents, Depends, an install
#      into a scratch root, the installed binary and config, the unit),
#   6. runs the JavaScript tests: an independent SSE client (npm eventsource)
#      and the example page in headless Chromium.
# Stages can be picked: scripts/test.sh [format] [plain] [asan] [tsan] [tsa] [fuzz] [package] [js]
set -euo pipefail
cd "$(dirname "$0")/.."

stages=("$@")
[[ ${#stages[@]} -eq 0 ]] && stages=(format plain asan tsan tsa fuzz package js)
jobs=$(nproc)

scripts/deps.sh build test

run_suite() {  # <build dir> <ctest args...>
  local dir=$1
  shift
  (cd "$dir" && ctest --output-on-failure --timeout 300 -j "$jobs" "$@")
}

started=$SECONDS
for stage in "${stages[@]}"; do
  echo "==> test stage: $stage (at $((SECONDS - started)) s)"
  case $stage in
    format)
      files=$(git ls-files 'src/*.cpp' 'src/*.h' 'tests/*.cpp' 'tests/*.h' 'examples/*.cpp' \
        'scripts/*.cpp' 'scripts/*.h')
      # shellcheck disable=SC2086
      clang-format --dry-run -Werror $files
      ;;
    plain)
      cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
      cmake --build build
      run_suite build -LE package
      ;;
    asan)
      cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug \
        -DPB_SANITIZE=address,undefined >/dev/null
      # Only what the suite runs (not the example backend, the load
      # generator or the benchmarks: the plain stage builds those).
      cmake --build build-asan --target pollbridge unit_tests integration_tests
      ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
        run_suite build-asan
      ;;
    tsan)
      cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DPB_SANITIZE=thread >/dev/null
      cmake --build build-tsan --target pollbridge unit_tests integration_tests
      # The tests labelled "threaded" (a test file whose first line is
      # `// ctest-labels: threaded`; CMakeLists.txt, pb_discover_tests): the
      # hub, scheduler, runtime and the end-to-end tests, whose pollbridge
      # process is built with TSan too and aborts on a report, failing the
      # test. Load tests that measure time and memory are not labelled.
      TSAN_OPTIONS="halt_on_error=1 abort_on_error=1 second_deadlock_stack=1 suppressions=$PWD/tests/tsan.supp" \
        run_suite build-tsan -L threaded
      ;;
    tsa)
      CXX=clang++ cmake -S . -B build-tsa -G Ninja -DCMAKE_BUILD_TYPE=Debug -DPB_BUILD_TESTS=OFF \
        -DPB_THREAD_SAFETY=ON >/dev/null
      cmake --build build-tsa --target pollbridge
      ;;
    fuzz)
      # Each target of tests/fuzz for an equal share of 60 s (build-fuzz);
      # prints the inputs each one ran. docs/fuzzing.md runs them longer.
      scripts/fuzz.sh -t 60
      ;;
    package)
      # tests/package/test-package.sh through ctest: it builds the package
      # target itself (in build/, the plain stage's tree).
      scripts/deps.sh package
      cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
      run_suite build -L package
      ;;
    js)
      [[ -x build/pollbridge ]] || { cmake -S . -B build -G Ninja >/dev/null && cmake --build build; }
      PB_BINARY=build/pollbridge scripts/test-js.sh
      ;;
    *)
      echo "unknown stage $stage" >&2
      exit 2
      ;;
  esac
done
echo "==> all test stages passed: ${stages[*]} (in $((SECONDS - started)) s)"
