#!/usr/bin/env bash
# Sets up, builds and starts llm_exporter with its defaults (or the flags given).
set -euo pipefail
here="$(dirname "$0")"
bash "$here/setup.sh"
bash "$here/build.sh"
exec "$here/../build/llm_exporter" "$@"
