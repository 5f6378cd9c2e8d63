#!/usr/bin/env bash
# Runs tests/peers/ohttp_interop.mjs (npm's @hpke/core) against confide's OHTTP gateway and
# HPKE. Needs node and npm; installs the pinned peers from package-lock.json on first use.
# Usage: ohttp_interop_test.sh PATH/TO/ohttp_peer_gateway
set -euo pipefail
peers="$(cd "$(dirname "$0")/../peers" && pwd)"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "SKIP: node/npm not found; the @hpke/core interop test did not run"; exit 0
fi
if [ ! -d "$peers/node_modules/@hpke/core" ]; then
  bash "$peers/install.sh" @hpke/core
fi
exec node "$peers/ohttp_interop.mjs" "$1"
