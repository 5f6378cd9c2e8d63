#!/usr/bin/env bash
# The README's test command: installs dependencies, then builds and runs every test
# (`make test`): the gcc debug build with ctest, then — when clang is available, which
# install-deps provides — the clang ASan+UBSan build that reruns the unit tests sanitized and
# smoke-runs every libFuzzer target.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
exec make test
