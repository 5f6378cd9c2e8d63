#!/usr/bin/env bash
# The official AWS SDK for JavaScript v3 (@aws-sdk/client-kms, pinned in tests/peers) against
# `confide kms serve`, over plain HTTP and over TLS (--tls-cert/--tls-key, the SDK trusting only
# the test CA): tests/peers/kms_js_sdk.mjs. Skips when node/npm or the package is unavailable.
# Usage: kms_js_sdk_test.sh CONFIDE_BINARY
set -euo pipefail
CONFIDE=$1
peers="$(cd "$(dirname "$0")/../peers" && pwd)"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "SKIP: node/npm not found; the AWS JS SDK test did not run"; exit 0
fi
if [ ! -d "$peers/node_modules/@aws-sdk/client-kms" ]; then
  bash "$peers/install.sh" @aws-sdk/client-kms ||
    { echo "SKIP: could not install the pinned npm peers (@aws-sdk/client-kms)"; exit 0; }
fi
# The pinned SDK warns on stderr that releases after January 2027 need node >= 22.
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
T=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cat > "$T/ids.toml" <<IDS
[[identity]]
access_key_id = "AKIAADMIN00000000001"
secret_access_key = "admin-secret-key"
principal_arn = "arn:aws:iam::111122223333:role/admin"
[[identity]]
access_key_id = "AKIAPARENT0000000001"
secret_access_key = "parent-secret-key"
principal_arn = "arn:aws:iam::111122223333:role/parent"
IDS
"$CONFIDE" tls self-signed --out-dir "$T/pki" --host localhost --ip 127.0.0.1 >/dev/null

# start NAME [serve options...]: starts a KMS with its own data dir; sets PORT.
start() {
  local name=$1; shift
  mkdir "$T/$name"
  "$CONFIDE" kms serve --listen 127.0.0.1:0 --data-dir "$T/$name" --identities "$T/ids.toml" \
    "$@" > "$T/$name.out" 2> "$T/$name.err" &
  PIDS+=($!)
  for _ in $(seq 1 100); do grep -q "listening on" "$T/$name.out" 2>/dev/null && break; sleep 0.1; done
  PORT=$(sed -n 's/.*listening on .*:\([0-9]*\)$/\1/p' "$T/$name.out")
  [ -n "$PORT" ] || fail "$name server did not start: $(cat "$T/$name.err")"
}

start plain
echo "== over http"
node "$peers/kms_js_sdk.mjs" "http://127.0.0.1:$PORT" || fail "JS SDK over HTTP"
start tls --tls-cert "$T/pki/cert.pem" --tls-key "$T/pki/key.pem"
echo "== over https"
node "$peers/kms_js_sdk.mjs" "https://127.0.0.1:$PORT" "$T/pki/ca.pem" || fail "JS SDK over HTTPS"
echo "kms js sdk test passed"
