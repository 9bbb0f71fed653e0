#!/usr/bin/env bash
# Installs what llm_exporter needs on Debian 12, from Debian's packages only, and for the
# integration tests' Node.js clients the npm packages locked in tests/otel-js and tests/proxy-js.
# Uses sudo when not run as root; installs only what is missing.
#
#   scripts/setup.sh          # everything: the agent, the tests, benchmarks, fuzzers, sanitizers
#   scripts/setup.sh agent    # only what building and running the agent needs (scripts/run.sh)
set -euo pipefail

mode="${1:-full}"

agent_packages=(
  # build
  build-essential cmake git pkg-config
  # libraries
  prometheus-cpp-dev libcivetweb-dev nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev
  libsimdjson-dev libxxhash-dev libyaml-cpp-dev libcrypt-dev libssl-dev
  # OTLP: protoc generates the span decoder's classes at build time (src/otlp/proto/); zlib
  # inflates gzip request bodies
  protobuf-compiler libprotobuf-dev zlib1g-dev
  # OTLP/gRPC (src/transport/grpc/); Debian's gRPC CMake package names grpc_cpp_plugin among its
  # targets, so find_package(gRPC) fails without it although the agent never runs it
  libgrpc++-dev protobuf-compiler-grpc
  # remote write (src/remote_write/): libcurl posts, snappy compresses; RE2 matches
  # write_relabel_configs regexes as Prometheus does
  libcurl4-openssl-dev libsnappy-dev libre2-dev
)
test_packages=(
  # tests and benchmarks
  doctest-dev libbenchmark-dev python3 python3-jsonschema python3-yaml curl prometheus
  # the strict OpenMetrics parser of tests/integration/test_exposition.py
  python3-prometheus-client
  # TLS tests make their CA with the openssl CLI
  openssl
  # tests/integration/test_remote_write.py: its fake receivers decode the agent's requests
  # (snappy block bodies, WriteRequest messages compiled by protoc at test time)
  python3-snappy python3-protobuf
  # the app-side examples and their tests: examples/fastapi (FastAPI under uvicorn, httpx)
  python3-fastapi python3-uvicorn python3-httpx
  # fuzzing and sanitizers; the AddressSanitizer+UBSan stage of scripts/test.sh builds with clang
  clang libclang-rt-14-dev
  # the Debian package (packaging/): help2man writes its man page from --help at build time;
  # tests/package checks it with lintian and installs it into a Debian 12 root that debootstrap
  # makes
  help2man lintian debootstrap
)

case "$mode" in
  agent) packages=("${agent_packages[@]}") ;;
  full)
    packages=("${agent_packages[@]}" "${test_packages[@]}")
    # The OpenTelemetry JS clients of the integration tests (tests/otel-js) run on Node.js:
    # Debian's nodejs and npm, unless the machine has its own (a newer Node.js does as well).
    command -v node >/dev/null 2>&1 || packages+=(nodejs)
    command -v npm >/dev/null 2>&1 || packages+=(npm)
    ;;
  *)
    echo "setup.sh: unknown mode \"$mode\"; use \"agent\" or \"full\" (the default)" >&2
    exit 2
    ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} > 0)); then
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
  echo "Installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The npm packages of the Node.js parts, at the versions of their package-lock.json, when they
# are missing or the lockfile changed since they were installed: the OpenTelemetry JS SDK and
# exporters of the integration tests (tests/otel-js), the OpenAI and Anthropic SDKs that call the
# metering proxy in its tests and benchmark (tests/proxy-js) and the Node.js client
# (examples/node).
if [[ "$mode" == full ]]; then
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  for dir in tests/otel-js tests/proxy-js examples/node; do
    [[ -f "$root/$dir/package-lock.json" ]] || continue
    if [[ ! -d "$root/$dir/node_modules" ||
          "$root/$dir/package-lock.json" -nt "$root/$dir/node_modules" ]]; then
      echo "Installing: the npm packages of $dir"
      (cd "$root/$dir" && npm ci --no-audit --no-fund >/dev/null)
    fi
  done
fi
