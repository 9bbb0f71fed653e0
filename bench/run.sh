#!/usr/bin/env bash
# Runs every benchmark that bench/README.md reports and prints the figures: the micro-benchmarks
# (decode, price, aggregate, render), then llm_exporter_loadgen against fresh agents on
# 127.0.0.1 and unix sockets in a temp dir (HTTP batched and one event per POST, unix stream,
# unix datagram), then the end-to-end scrape benchmark at 1k, 10k and 100k cost series, then
# bench/memory.py (RSS under 5,000-event batches and big scrapes).
#
#   bench/run.sh [BUILD_DIR]      default: build-bench (configured Release and built first)
#   SKIP_BUILD=1                  use BUILD_DIR as it is
#   ONLY="micro http unix unixgram scrape memory"   run only these parts
#   SCALE=0.1                     fewer events everywhere (a quick check, not a figure)
#   AGENT_BIN=path                another agent binary (e.g. an experiment), same load
#
# Nothing here asserts a time: it prints what it measured. Every load is bounded in events
# and in time (the load generator's --timeout), and every agent is stopped on exit.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build-bench}"
only="${ONLY:-micro http unix unixgram scrape memory}"
scale="${SCALE:-1}"

if [[ -z ${SKIP_BUILD:-} ]]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DLLM_EXPORTER_BUILD_BENCH=ON >/dev/null
  cmake --build "$build" -j"$(nproc)" --target llm_exporter llm_exporter_bench llm_exporter_loadgen \
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

# start_agent ARGS...: a fresh agent on a free loopback port; sets $port and $agent_pid.
start_agent() {
  stop_agent
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
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
has_flag() { "$agent_bin" --help | grep -q -- "$1"; }

# load LABEL AGENT_ARGS -- LOADGEN_ARGS: one fresh agent, one loadgen run.
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
  "$loadgen" --address="127.0.0.1:$port" --agent-pid="$agent_pid" --timeout=120 "$@" || true
  stop_agent
}

echo "llm_exporter benchmarks: $(nproc) cores, $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "revision $(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(git -C "$root" diff --quiet 2>/dev/null || echo ' (+ uncommitted changes)')"

if [[ " $only " == *" micro "* ]]; then
  echo "==== micro-benchmarks (decode, price, aggregate, render)"
  "$build/llm_exporter_bench" --benchmark_min_time=0.5
fi

if [[ " $only " == *" http "* ]]; then
  echo "==== HTTP"
  load "HTTP, 1,000 events per POST (JSON array), 2 connections" -- \
    --mode=http --batch=1000 --format=array --connections=2 --events="$(events 4000000)"
  load "HTTP, 1,000 events per POST (NDJSON), 2 connections" -- \
    --mode=http --batch=1000 --format=ndjson --connections=2 --events="$(events 4000000)"
  load "HTTP, one event per POST, keep-alive, 8 connections" -- \
    --mode=http --batch=1 --connections=8 --events="$(events 400000)"
  # For comparison: a client that acknowledges at once (TCP_QUICKACK) gains nothing now that
  # every response leaves in one write.
  load "HTTP, one event per POST, keep-alive, 8 connections, client TCP_QUICKACK" -- \
    --mode=http --batch=1 --connections=8 --tcp-quickack --events="$(events 400000)"
fi

if [[ " $only " == *" unix "* ]]; then
  echo "==== unix stream"
  if has_flag --ingest.listen-unix; then
    load "unix stream, NDJSON, 1 connection" --ingest.listen-unix="$tmp/s.sock" -- \
      --mode=unix --unix="$tmp/s.sock" --connections=1 --events="$(events 10000000)"
    load "unix stream, NDJSON, 2 connections" --ingest.listen-unix="$tmp/s.sock" -- \
      --mode=unix --unix="$tmp/s.sock" --connections=2 --events="$(events 10000000)"
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
