#!/usr/bin/env bash
# Sets up, builds and starts llm_exporter with its defaults (or the flags given). Installs and
# builds only what the agent needs: scripts/test.sh adds the rest to the same build/ later.
set -euo pipefail
here="$(dirname "$0")"
bash "$here/setup.sh" agent
bash "$here/build.sh" --target llm_exporter
exec "$here/../build/llm_exporter" "$@"
