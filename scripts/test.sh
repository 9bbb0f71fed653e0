#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite: unit and integration tests (ctest), the same
# suites under AddressSanitizer+UBSan and ThreadSanitizer, and the fuzzers for a bounded time.
# The plain ctest run comes last, so its summary closes the output; it includes the Debian
# package's test (label package: cpack, lintian, systemd-analyze, and an install into a
# debootstrapped Debian 12, which needs root and the network; tests/package/test_package.py).
# The plain build (GCC) and the AddressSanitizer+UBSan build (clang) both compile with -Werror,
# so a new warning from either compiler fails the run.
#   SKIP_SANITIZERS=1 / SKIP_FUZZ=1 leave those stages out; FUZZ_SECONDS sets the fuzz time.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
cd "$root"

bash "$here/setup.sh" || exit 1
failed=()

stage() {  # stage NAME COMMAND...: runs a stage, remembers its failure, goes on
  local name=$1
  shift
  echo "==> $name"
  if ! "$@"; then
    echo "==> $name FAILED"
    failed+=("$name")
  fi
}

sanitized_suite() {  # sanitized_suite BUILD_DIR SANITIZERS [CMAKE_ARGS...]
  local dir=$1 sanitizers=$2
  shift 2
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DLLM_EXPORTER_SANITIZE="$sanitizers" \
    -DLLM_EXPORTER_BUILD_BENCH=OFF "$@" >/dev/null &&
    cmake --build "$dir" -j"$(nproc)" >/dev/null &&
    (cd "$dir" && ctest --output-on-failure -j2 -L "${SANITIZER_LABELS:-unit|integration}")
}

clang_build_dir() {  # clang_build_dir DIR: a build dir keeps its first compiler; start a GCC one afresh
  if [[ -f $1/CMakeCache.txt ]] && ! grep -qE '^CMAKE_CXX_COMPILER:[A-Z]+=(.*/)?clang\+\+$' "$1/CMakeCache.txt"; then
    rm -rf "$1/CMakeCache.txt" "$1/CMakeFiles"
  fi
}

bash "$here/build.sh" -DLLM_EXPORTER_WERROR=ON || exit 1
if [[ -z ${SKIP_SANITIZERS:-} ]]; then
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
  # clang here, so that CI compiles the project with clang 14 as well as GCC 12 (fuzz.sh builds
  # only the fuzz targets).
  clang_build_dir build-asan
  stage "AddressSanitizer + UBSan (clang)" sanitized_suite build-asan address,undefined \
    -DCMAKE_CXX_COMPILER=clang++ -DLLM_EXPORTER_WERROR=ON
  export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$root/tests/tsan.supp"
  stage "ThreadSanitizer" sanitized_suite build-tsan thread
fi
if [[ -z ${SKIP_FUZZ:-} && -x "$here/fuzz.sh" ]]; then
  stage "fuzzers" bash "$here/fuzz.sh"
fi
# ctest shows no output of a skipped test: its one-line reason is repeated after the summary.
stage "unit and integration tests" bash -c "cd build && ctest --output-on-failure -j2; status=\$?;
  grep -h '^SKIPPED:' Testing/Temporary/LastTest.log 2>/dev/null; exit \$status"

if ((${#failed[@]} > 0)); then
  echo "FAILED stages: ${failed[*]}"
  exit 1
fi
