#!/usr/bin/env bash
# End to end: the official openai npm client -> `confide proxy` -> `confide gateway` (TLS) ->
# the real enclave app (`confide-enclave` in the emulated enclave, model loaded from a KMS-sealed
# file) — the stack of scripts/lib/stack.sh. Runs openai_proxy_test.sh against it.
# Prints SKIP and exits 0 when node/npm, jq, curl or the model are missing.
# Usage: sealed_openai_test.sh BUILD_DIR
set -uo pipefail
build=$1
here=$(cd "$(dirname "$0")" && pwd)
for tool in node npm jq curl; do
  command -v "$tool" >/dev/null 2>&1 || { echo "SKIP: $tool not installed"; exit 0; }
done
# shellcheck source=../../scripts/lib/stack.sh
source "$here/../../scripts/lib/stack.sh"
stack_init "$build"
trap stack_down EXIT
model="$shared/models/stories260K.gguf"
[ -f "$model" ] || { echo "SKIP: no model at $model"; exit 0; }
[ -x "$enclave_bin" ] || { echo "SKIP: no confide-enclave binary"; exit 0; }
"$confide" kms --help 2>/dev/null | grep -q "^  call" ||
  { echo "SKIP: this build has no 'confide kms call' (scripts/lib/stack.sh needs it)"; exit 0; }
fail() { echo "FAIL: $*" >&2; for f in "$work"/*.err; do echo "--- $f"; tail -5 "$f"; done >&2; exit 1; }
stack_kms || fail "kms"
stack_image "$model" || fail "image"
stack_key || fail "key"
stack_seal "$model" || fail "seal"
stack_enclave 16 || fail "enclave"
stack_gateway 16 || fail "gateway"
stack_wait_ready 120 || fail "enclave not ready"
stack_trust
GATEWAY_URL="$gateway" TRUST_FILE="$work/trust.json" CA_FILE="$gateway_ca" \
  bash "$here/openai_proxy_test.sh" "$confide" || fail "openai client through the proxy"
