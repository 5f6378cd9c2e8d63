#!/usr/bin/env bash
# Installs the pinned npm test peers (package-lock.json) into tests/peers/node_modules once.
# Several integration tests call this, possibly at the same time under `ctest -j`: an exclusive
# lock makes the first install and the others wait, so `npm ci` never runs twice concurrently
# (it deletes node_modules first). Exit 0 when PACKAGE (e.g. @hpke/core) is installed.
# Usage: install.sh PACKAGE
set -uo pipefail
peers=$(cd "$(dirname "$0")" && pwd)
exec 9>"$peers/.install.lock"
flock 9
[ -d "$peers/node_modules/$1" ] && exit 0
(cd "$peers" && npm ci --no-audit --no-fund --loglevel=error) && [ -d "$peers/node_modules/$1" ]
