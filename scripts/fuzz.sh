#!/usr/bin/env bash
# Runs every libFuzzer target from build/fuzz for $1 seconds (default 300) each, on a scratch
# copy of its committed seed corpus. Crashes are written to build/fuzz/artifacts/; copy each
# reproducer into fuzz/corpus/<target>/ once fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-300}
mkdir -p build/fuzz/artifacts
for bin in build/fuzz/fuzz/*_fuzzer; do
  name=$(basename "$bin" _fuzzer)
  work=build/fuzz/work/$name
  mkdir -p "$work"
  echo "== fuzzing $name for ${secs}s"
  "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix=build/fuzz/artifacts/"$name"- "$work" fuzz/corpus/"$name"
done
