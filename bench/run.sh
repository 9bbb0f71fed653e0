#!/usr/bin/env bash
# Runs every benchmark that bench/README.md reports and prints the figures: the micro-benchmarks
# (decode, price, aggregate, render), then llm_exporter_loadgen against fresh agents on
# 127.0.0.1 and unix sockets in a temp dir (HTTP batched and one event per POST, each followed
# by the same load against llm_exporter_baseline, the bare civetweb + simdjson server, to give
# the agent's share of it; unix stream; unix datagram), then OpenTelemetry spans against JSON events (OTLP/HTTP protobuf, OTLP/gRPC and
# JSON arrays, 512 a request, alternating, medians), then the end-to-end scrape benchmark at 1k,
# 10k and 100k cost series, then bench/memory.py (RSS under 5,000-event batches and big scrapes).
# ONLY=remote-write runs bench/remote_write.py (remote write to Debian's Prometheus at 10k, 100k
# and 1M series, then a simulated fleet; about 12 minutes and several GB of RAM): not by default.
# ONLY=app runs bench/app_side.py: what reporting one LLM call costs the app, on each path.
#
#   bench/run.sh [BUILD_DIR]      default: build-bench (configured Release and built first)
#   SKIP_BUILD=1                  use BUILD_DIR as it is
#   ONLY="micro http unix unixgram otlp scrape memory remote-write app"   run only these parts
#   REPS=3                        runs of each HTTP row (each against the agent, then the baseline)
#   OTLP_REPS=5                   repetitions of each OTLP comparison run
#   SCALE=0.1                     fewer events everywhere (a quick check, not a figure)
#   AGENT_BIN=path                another agent binary (e.g. an experiment), same load
#
# Nothing here asserts a time: it prints what it measured. Every load is bounded in events
# and in time (the load generator's --timeout), and every agent is stopped on exit.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build-bench}"
only="${ONLY:-micro http unix unixgram otlp scrape memory app}"
scale="${SCALE:-1}"

if [[ -z ${SKIP_BUILD:-} ]]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DLLM_EXPORTER_BUILD_BENCH=ON >/dev/null
  cmake --build "$build" -j"$(nproc)" --target llm_exporter llm_exporter_bench llm_exporter_loadgen \
    llm_exporter_baseline \
    >/dev/null
fi
agent_bin="${AGENT_BIN:-$build/llm_exporter}"
loadgen="$build/llm_exporter_loadgen"
tmp="$(mktemp -d /tmp/llmx-bench.XXXXXX)"
agent_pid=""

stop_agent() {
  if [[ -n $agent_pid ]]; then
    kill -TERM "$agent_pid" 2>/dev/null || true
    wait "$agent_pid" 2>/dev/null || true
    agent_pid=""
  fi
}
trap 'stop_agent; rm -rf "$tmp"' EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_agent ARGS...: a fresh agent on a free loopback port; sets $port and $agent_pid.
start_agent() {
  stop_agent
  port="$(free_port)"
  rm -f "$tmp"/*.sock
  "$agent_bin" --web.listen-address="127.0.0.1:$port" --log.level=warn "$@" >>"$tmp/agent.log" 2>&1 &
  agent_pid=$!
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "agent did not start: $(cat "$tmp/agent.log")" >&2
  exit 1
}

events() { python3 -c "print(max(1000, int($1 * $scale)))"; }
# Not grep -q: it stops reading at the first match, and under pipefail the --help that then dies
# of SIGPIPE would make the answer "no".
has_flag() { "$agent_bin" --help | grep -- "$1" >/dev/null; }

# load LABEL AGENT_ARGS -- LOADGEN_ARGS: one fresh agent, one loadgen run; its output is also
# left in $tmp/load.out.
load() {
  local label=$1
  shift
  local agent_args=()
  while [[ $1 != -- ]]; do agent_args+=("$1"); shift; done
  shift
  start_agent "${agent_args[@]}"
  echo "---- $label"
  echo "\$ llm_exporter --web.listen-address=127.0.0.1:PORT --log.level=warn ${agent_args[*]}"
  echo "\$ llm_exporter_loadgen --address=127.0.0.1:PORT --agent-pid=PID $*"
  "$loadgen" --address="127.0.0.1:$port" --agent-pid="$agent_pid" --timeout=120 "$@" \
    | tee "$tmp/load.out" || true
  stop_agent
}

# The rate of the last load's RESULT line (events/s or spans/s), or 0 when it failed; and the
# agent's CPU per event or span in ns (what a machine shared with other work changes least).
last_rate() { sed -n 's/^RESULT .* \(events\|spans\)_per_s=\([0-9]*\).*/\2/p' "$tmp/load.out" | grep . || echo 0; }
last_cpu() { sed -n 's/^agent: .*(\([0-9]*\) ns CPU per.*/\1/p' "$tmp/load.out" | grep . || echo 0; }
median() {
  python3 -c 'import statistics, sys; print(round(statistics.median(map(float, sys.argv[1:]))))' "$@"
}
ratio() {
  python3 -c 'import sys; a, b = map(float, sys.argv[1:]); print(f"{a / b:.3f}" if b else "n/a")' "$@"
}

echo "llm_exporter benchmarks: $(nproc) cores, $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "revision $(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(git -C "$root" diff --quiet 2>/dev/null || echo ' (+ uncommitted changes)')"

if [[ " $only " == *" micro "* ]]; then
  echo "==== micro-benchmarks (decode, price, aggregate, render)"
  "$build/llm_exporter_bench" --benchmark_min_time=0.5
fi

# http_row LABEL LOADGEN_ARGS: $REPS runs against fresh agents, each followed by the same load
# against llm_exporter_baseline (the bare civetweb + simdjson server); prints the medians and
# sets $row_rate, $row_baseline and $row_share to them.
http_row() {
  local label=$1
  shift
  local rates=() baselines=() shares=() cpus=()
  for rep in $(seq "$reps"); do
    load "[$rep/$reps] $label" -- "$@" --baseline="$baseline_bin"
    rates+=("$(last_rate)") cpus+=("$(last_cpu)")
    baselines+=("$(sed -n 's/^RESULT .*baseline_per_s=\([0-9]*\).*/\1/p' "$tmp/load.out" | grep . || echo 0)")
    shares+=("$(sed -n 's/^RESULT .* share=\([0-9.]*\).*/\1/p' "$tmp/load.out" | grep . || echo 0)")
  done
  row_rate="$(median "${rates[@]}")"
  row_baseline="$(median "${baselines[@]}")"
  row_share="$(python3 -c 'import statistics, sys; print(f"{statistics.median(map(float, sys.argv[1:])):.3f}")' "${shares[@]}")"
  echo "---- $label: agent $row_rate events/s, baseline $row_baseline events/s," \
    "share $row_share (medians of $reps; shares ${shares[*]}); agent CPU $(median "${cpus[@]}") ns per event"
}
reps="${REPS:-3}"
baseline_bin="$build/llm_exporter_baseline"
http_ndjson_rate=0 http_ndjson_baseline=0

if [[ " $only " == *" http "* ]]; then
  echo "==== HTTP, against the baseline (bare civetweb + simdjson) with the same load"
  http_row "HTTP, 1,000 events per POST (JSON array), 2 connections" \
    --mode=http --batch=1000 --format=array --connections=2 --events="$(events 4000000)"
  http_row "HTTP, 1,000 events per POST (NDJSON), 2 connections" \
    --mode=http --batch=1000 --format=ndjson --connections=2 --events="$(events 4000000)"
  http_ndjson_rate=$row_rate http_ndjson_baseline=$row_baseline
  http_row "HTTP, one event per POST, keep-alive, 8 connections" \
    --mode=http --batch=1 --connections=8 --events="$(events 400000)"
fi

if [[ " $only " == *" unix "* ]]; then
  echo "==== unix stream"
  if has_flag --ingest.listen-unix; then
    load "unix stream, NDJSON, 1 connection" --ingest.listen-unix="$tmp/s.sock" -- \
      --mode=unix --unix="$tmp/s.sock" --connections=1 --events="$(events 10000000)"
    load "unix stream, NDJSON, 2 connections" --ingest.listen-unix="$tmp/s.sock" -- \
      --mode=unix --unix="$tmp/s.sock" --connections=2 --events="$(events 10000000)"
    if [[ $http_ndjson_rate != 0 ]]; then
      # The target: the socket at least as fast as the agent's batched HTTP, and its share of the
      # baseline's batched NDJSON rate (the nearest parse-only ceiling; the baseline has no
      # socket).
      echo "---- unix stream, 2 connections, $(last_rate) events/s: $(ratio "$(last_rate)" "$http_ndjson_rate")" \
        "x the agent's HTTP 1,000-event NDJSON POSTs, share $(ratio "$(last_rate)" "$http_ndjson_baseline")" \
        "of the baseline's"
    fi
  else
    echo "not measured: $agent_bin has no --ingest.listen-unix"
  fi
fi

if [[ " $only " == *" unixgram "* ]]; then
  echo "==== unix datagram"
  if has_flag --ingest.listen-unixgram; then
    load "unixgram, one event per datagram, 1 socket" --ingest.listen-unixgram="$tmp/d.sock" -- \
      --mode=unixgram --unixgram="$tmp/d.sock" --batch=1 --connections=1 --events="$(events 2000000)"
    load "unixgram, one event per datagram, 2 sockets" --ingest.listen-unixgram="$tmp/d.sock" -- \
      --mode=unixgram --unixgram="$tmp/d.sock" --batch=1 --connections=2 --events="$(events 2000000)"
  else
    echo "not measured: $agent_bin has no --ingest.listen-unixgram"
  fi
fi

if [[ " $only " == *" otlp "* ]]; then
  echo "==== OpenTelemetry spans against JSON events, 512 a request (alternating, a fresh agent each)"
  if has_flag --otlp.grpc-listen-address; then
    spans="$(events 1024000)"
    reps="${OTLP_REPS:-5}"
    json_rates=() http_rates=() grpc_rates=() json_cpu=() http_cpu=() grpc_cpu=()
    for rep in $(seq "$reps"); do
      # The same LLM calls each time: the JSON mix without quality scores, as spans carry none.
      load "[$rep/$reps] JSON events over HTTP, 512 per POST (array), 2 connections" -- \
        --mode=http --batch=512 --format=array --quality-every=0 --connections=2 --events="$spans"
      json_rates+=("$(last_rate)") json_cpu+=("$(last_cpu)")
      load "[$rep/$reps] OTLP/HTTP protobuf, 512 spans per POST, 2 connections" \
        --otlp.span-hold=0 -- --mode=otlp-http --batch=512 --connections=2 --events="$spans"
      http_rates+=("$(last_rate)") http_cpu+=("$(last_cpu)")
      grpc_port="$(free_port)"
      load "[$rep/$reps] OTLP/gRPC, 512 spans per Export, 2 channels" \
        --otlp.span-hold=0 --otlp.grpc-listen-address="127.0.0.1:$grpc_port" -- \
        --mode=otlp-grpc --grpc-address="127.0.0.1:$grpc_port" --batch=512 --connections=2 \
        --events="$spans"
      grpc_rates+=("$(last_rate)") grpc_cpu+=("$(last_cpu)")
    done
    # What the default hold costs: every call waits 5 s, and the agent remembers it meanwhile.
    load "OTLP/HTTP protobuf, 512 spans per POST, 2 connections, default --otlp.span-hold (5s)" -- \
      --mode=otlp-http --batch=512 --connections=2 --events="$spans"
    json_median="$(median "${json_rates[@]}")"
    http_median="$(median "${http_rates[@]}")"
    grpc_median="$(median "${grpc_rates[@]}")"
    echo "---- OTLP summary: medians of $reps runs of $spans each (0: a failed run)," \
      "load average now $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "JSON events, 512 per POST: $json_median events/s;" \
      "agent CPU $(median "${json_cpu[@]}") ns per event (runs: ${json_rates[*]})"
    echo "OTLP/HTTP protobuf, 512: $http_median spans/s, OTLP/JSON $(ratio "$http_median" "$json_median");" \
      "agent CPU $(median "${http_cpu[@]}") ns per span (runs: ${http_rates[*]})"
    echo "OTLP/gRPC, 512: $grpc_median spans/s, OTLP/JSON $(ratio "$grpc_median" "$json_median");" \
      "agent CPU $(median "${grpc_cpu[@]}") ns per span (runs: ${grpc_rates[*]})"
  else
    echo "not measured: $agent_bin has no --otlp.grpc-listen-address"
  fi
fi

if [[ " $only " == *" scrape "* ]]; then
  echo "==== scrape, end to end (GET /metrics on a real agent, RSS from /proc)"
  for n in 1000 10000 100000; do
    load "scrape, $n cost series" --metrics.max-series-per-family=200000 -- \
      --mode=scrape --series="$n" --batch=1000 --repeat=7
  done
fi

if [[ " $only " == *" memory "* ]]; then
  echo "==== memory: big batches and big scrapes (bench/memory.py)"
  python3 "$root/bench/memory.py" --agent "$agent_bin"
fi

if [[ " $only " == *" remote-write "* ]]; then
  echo "==== remote write: one agent at 10k, 100k and 1M series, a fleet (bench/remote_write.py)"
  if command -v prometheus >/dev/null; then
    python3 "$root/bench/remote_write.py" --agent "$agent_bin" --loadgen "$loadgen"
  else
    echo "not measured: no prometheus on PATH (Debian: apt-get install prometheus)"
  fi
fi

if [[ " $only " == *" app "* ]]; then
  echo "==== the app's side: what reporting one LLM call costs the app (bench/app_side.py)"
  /usr/bin/python3 "$root/bench/app_side.py" --agent "$agent_bin" --events "$(python3 -c "print(max(1000, int(50000 * $scale)))")"
fi
