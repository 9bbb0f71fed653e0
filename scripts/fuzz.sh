#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang, ASan and UBSan into build-fuzz/, replays each
# seed corpus as a regression test, then fuzzes each target for $FUZZ_SECONDS seconds (default 40;
# 0 replays only) on a copy of its corpus in a temp dir, so the repository is never written to.
# Exits non-zero on any crash, leak, UB report, timeout or out-of-memory; the input that caused
# it is kept in build-fuzz/artifacts/<target>/.
#
#   scripts/fuzz.sh                      # replay + 40 s per target
#   FUZZ_SECONDS=10 scripts/fuzz.sh      # shorter
#   JOBS=2 scripts/fuzz.sh               # build parallelism (default: nproc)
#
# Needs clang and libFuzzer: on Debian 12, apt-get install clang libclang-rt-14-dev
# (scripts/setup.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

seconds="${FUZZ_SECONDS:-40}"
jobs="${JOBS:-$(nproc)}"
build="${FUZZ_BUILD_DIR:-$root/build-fuzz}"
targets=(decode_fuzzer price_table_fuzzer text_writer_fuzzer otlp_protobuf_fuzzer otlp_json_fuzzer
         stream_meter_fuzzer)

# Seed corpora, dictionary and input size limit of each target. The writer fuzzer decodes its
# input as a body too, so the decoder's seeds serve it as well.
corpora() {
  case "$1" in
    decode_fuzzer) echo "fuzz/corpus/decode_fuzzer" ;;
    price_table_fuzzer) echo "fuzz/corpus/price_table_fuzzer" ;;
    text_writer_fuzzer) echo "fuzz/corpus/text_writer_fuzzer fuzz/corpus/decode_fuzzer" ;;
    otlp_protobuf_fuzzer) echo "fuzz/corpus/otlp_protobuf_fuzzer" ;;
    otlp_json_fuzzer) echo "fuzz/corpus/otlp_json_fuzzer" ;;
    stream_meter_fuzzer) echo "fuzz/corpus/stream_meter_fuzzer" ;;
  esac
}
dictionary() {
  case "$1" in
    price_table_fuzzer) echo "fuzz/dictionaries/price_table.dict" ;;
    otlp_protobuf_fuzzer) echo "fuzz/dictionaries/otlp_protobuf.dict" ;;
    otlp_json_fuzzer) echo "fuzz/dictionaries/otlp_json.dict" ;;
    stream_meter_fuzzer) echo "fuzz/dictionaries/stream_meter.dict" ;;
    *) echo "fuzz/dictionaries/events.dict" ;;
  esac
}
max_len() {
  case "$1" in
    price_table_fuzzer) echo 8192 ;;
    *) echo 16384 ;;
  esac
}

for tool in clang clang++ cmake; do
  if ! command -v "$tool" >/dev/null; then
    echo "fuzz.sh: $tool not found; on Debian 12: apt-get install clang libclang-rt-14-dev cmake" >&2
    exit 2
  fi
done

echo "== configure and build ($build)"
CC=clang CXX=clang++ cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DLLM_EXPORTER_FUZZ=ON -DLLM_EXPORTER_BUILD_TESTS=OFF -DLLM_EXPORTER_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j"$jobs" --target "${targets[@]}"

# Sanitizer reports must fail the run, with a stack that says where.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"

work="$(mktemp -d -t llmx-fuzz.XXXXXX)"
trap 'rm -rf "$work"' EXIT
failed=()

echo "== replay the seed corpora (regression)"
for t in "${targets[@]}"; do
  files=()
  for dir in $(corpora "$t"); do
    while IFS= read -r -d '' f; do files+=("$f"); done < <(find "$dir" -type f -print0 | sort -z)
  done
  if "$build/fuzz/$t" -timeout=10 "${files[@]}" >"$work/$t.replay.log" 2>&1; then
    echo "$t: ${#files[@]} seed inputs replayed, all pass"
  else
    echo "$t: FAILED on a seed input:" >&2
    grep -E "^Running:|INVARIANT|ERROR|runtime error|SUMMARY" "$work/$t.replay.log" | tail -n 20 >&2
    failed+=("$t (replay)")
  fi
done

summary=()
if ((seconds > 0)) && ((${#failed[@]} == 0)); then
  echo "== fuzz each target for ${seconds}s"
  for t in "${targets[@]}"; do
    mkdir -p "$work/$t" "$build/artifacts/$t"
    for dir in $(corpora "$t"); do cp -R "$dir/." "$work/$t/"; done
    start=$(date +%s)
    status=0
    "$build/fuzz/$t" "$work/$t" -max_total_time="$seconds" -print_final_stats=1 \
      -dict="$(dictionary "$t")" -max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$build/artifacts/$t/" >"$work/$t.log" 2>&1 || status=$?
    took=$(($(date +%s) - start))
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/$t.log")
    rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$work/$t.log")
    added=$(sed -n 's/^stat::new_units_added: *//p' "$work/$t.log")
    line=$(printf '%-20s %12s executions %8s exec/s %4ss  peak RSS %5s MB  new units %s' \
      "$t" "${runs:-?}" "${rate:-?}" "$took" "${rss:-?}" "${added:-?}")
    if ((status != 0)); then
      line="$line  FAILED (exit $status)"
      failed+=("$t")
      echo "$t: FAILED; the last lines of its log:" >&2
      tail -n 60 "$work/$t.log" >&2
      echo "reproduce with: $build/fuzz/$t $build/artifacts/$t/<file>" >&2
      ls -l "$build/artifacts/$t/" >&2 || true
    fi
    echo "$line"
    summary+=("$line")
  done
  echo "== summary"
  printf '%s\n' "${summary[@]}"
fi

if ((${#failed[@]} > 0)); then
  echo "fuzz.sh: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz.sh: OK"
