#!/usr/bin/env bash
# Runs every benchmark in build/release/bench. Each prints its own figure and the ratio to the
# baseline it measures in the same run. Results and how to read them: docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
for bin in build/release/bench/*_benchmark; do
  echo "== $(basename "$bin")"
  "$bin" "$@"
done
