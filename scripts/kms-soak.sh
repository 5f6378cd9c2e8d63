#!/usr/bin/env bash
# Long crash soak of `confide kms serve` (docs/kms.md "Durability"): KILLS (default 500) SIGKILLs
# at random moments under concurrent load, checking after every restart that each acknowledged
# operation survived and that `confide audit verify` accepts the log. The ctest version
# (integration_kms_crash) runs 15 kills. Usage: scripts/kms-soak.sh [KILLS] [BUILD_DIR]
# Extra flags for the driver go in KMS_SOAK_FLAGS (e.g. "--workers 12 --seed 42").
set -euo pipefail
cd "$(dirname "$0")/.."
kills=${1:-500}
build=${2:-build/release}
if [ ! -x "$build/tests/kms_crash_test" ] || [ ! -x "$build/apps/confide/confide" ]; then
  echo "building $build (confide, kms_crash_test)"
  preset=$(basename "$build")
  cmake --preset "$preset" >/dev/null
  cmake --build "$build" -j "$(nproc)" --target confide kms_crash_test
fi
# shellcheck disable=SC2086
exec "$build/tests/kms_crash_test" --confide "$build/apps/confide/confide" --kills "$kills" \
  ${KMS_SOAK_FLAGS:-}
