#!/usr/bin/env bash
# Installs what building and testing llm_exporter need on Debian 12, from Debian's packages
# only. Uses sudo when not run as root; installs only what is missing.
set -euo pipefail

packages=(
  # build
  build-essential cmake git pkg-config
  # libraries
  prometheus-cpp-dev libcivetweb-dev nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev
  libsimdjson-dev libxxhash-dev libyaml-cpp-dev libcrypt-dev libssl-dev
  # tests and benchmarks
  doctest-dev libbenchmark-dev python3 python3-jsonschema python3-yaml curl prometheus
  # TLS tests make their CA with the openssl CLI; civetweb loads libssl.so at run time (libssl-dev)
  openssl
  # fuzzing and sanitizers
  clang libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
echo "Installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
