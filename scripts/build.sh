#!/usr/bin/env bash
# Configures and builds llm_exporter into build/ (the binary is build/llm_exporter).
#
#   scripts/build.sh                              # everything: agent, tests, benchmarks
#   scripts/build.sh --target llm_exporter        # the agent only (scripts/run.sh)
#   scripts/build.sh -DLLM_EXPORTER_WERROR=ON     # other arguments go to cmake's configure step
#
# Tests and benchmarks whose packages are missing are left out with a warning
# (CMakeLists.txt), so the agent builds after `scripts/setup.sh agent` too. Every caller shares
# build/: pass a cache option only to change it, since it stays in the cache for the next one.
set -euo pipefail
cd "$(dirname "$0")/.."

targets=()
configure=()
while (($# > 0)); do
  case "$1" in
    --target)
      if (($# < 2)); then
        echo "build.sh: --target needs a target name" >&2
        exit 2
      fi
      targets+=("$2")
      shift 2
      ;;
    --target=*)
      targets+=("${1#--target=}")
      shift
      ;;
    *)
      configure+=("$1")
      shift
      ;;
  esac
done

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo "${configure[@]}" >/dev/null
if ((${#targets[@]} > 0)); then
  cmake --build build -j"$(nproc)" --target "${targets[@]}"
else
  cmake --build build -j"$(nproc)"
fi
