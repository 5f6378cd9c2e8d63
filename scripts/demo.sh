#!/usr/bin/env bash
# The README's demo command: installs dependencies, builds, and runs the demo (`make demo`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
exec make demo
