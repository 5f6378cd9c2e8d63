#!/usr/bin/env bash
# `confide kms serve --tls-cert/--tls-key` (HTTPS only) with confide's own client
# (`kms call`, `encrypt`/`decrypt` with --kms-endpoint https://... --ca) and the real AWS CLI
# (--endpoint-url https://... --ca-bundle): both succeed with the right CA and are refused with
# a wrong one; plain http:// to the TLS port gets no KMS answer. The AWS CLI part skips when
# aws is absent.
# Usage: kms_tls_test.sh CONFIDE_BINARY
set -euo pipefail
CONFIDE=$1
T=$(mktemp -d)
SERVER_PID=""
cleanup() { if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cat > "$T/ids.toml" <<IDS
[[identity]]
access_key_id = "AKIAADMIN00000000001"
secret_access_key = "admin-secret-key"
principal_arn = "arn:aws:iam::111122223333:role/admin"
IDS
cat > "$T/admin.json" <<'CRED'
{"AccessKeyId":"AKIAADMIN00000000001","SecretAccessKey":"admin-secret-key"}
CRED
"$CONFIDE" tls self-signed --out-dir "$T/tls" --host localhost --ip 127.0.0.1 >/dev/null
"$CONFIDE" tls self-signed --out-dir "$T/other" --host localhost --ip 127.0.0.1 >/dev/null
mkdir "$T/data"

# Usage: --tls-cert without --tls-key is exit 2.
set +e
"$CONFIDE" kms serve --listen 127.0.0.1:0 --data-dir "$T/data" --identities "$T/ids.toml" \
  --tls-cert "$T/tls/cert.pem" >/dev/null 2>&1
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "--tls-cert alone exited $rc, want 2"

"$CONFIDE" kms serve --listen 127.0.0.1:0 --data-dir "$T/data" --identities "$T/ids.toml" \
  --tls-cert "$T/tls/cert.pem" --tls-key "$T/tls/key.pem" > "$T/server.out" 2> "$T/server.err" &
SERVER_PID=$!
for _ in $(seq 1 100); do grep -q "listening on" "$T/server.out" 2>/dev/null && break; sleep 0.1; done
grep -q "listening on https://" "$T/server.out" || fail "server did not start: $(cat "$T/server.err")"
PORT=$(sed -n 's/.*listening on .*:\([0-9]*\)$/\1/p' "$T/server.out")
[ -n "$PORT" ] || fail "no port: $(cat "$T/server.out")"
URL="https://127.0.0.1:$PORT"

# 1. confide kms call over TLS with the right CA (the certificate names 127.0.0.1 and localhost).
KEY=$("$CONFIDE" kms call CreateKey --kms-endpoint "$URL" --ca "$T/tls/ca.pem" \
  --credentials "$T/admin.json" --json '{"Description":"tls"}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["KeyMetadata"]["KeyId"])')
[[ "$KEY" =~ ^[0-9a-f-]{36}$ ]] || fail "CreateKey over TLS returned '$KEY'"
"$CONFIDE" kms call ListKeys --kms-endpoint "https://localhost:$PORT" --ca "$T/tls/ca.pem" \
  --credentials "$T/admin.json" | grep -q "$KEY" || fail "ListKeys via localhost"
echo "ok: confide kms call over TLS"

# 2. Envelope files over TLS.
head -c 100000 /dev/urandom > "$T/pt"
"$CONFIDE" encrypt --kms-endpoint "$URL" --ca "$T/tls/ca.pem" --credentials "$T/admin.json" \
  --key-id "$KEY" --in "$T/pt" --out "$T/pt.cfe" >/dev/null
"$CONFIDE" decrypt --kms-endpoint "$URL" --ca "$T/tls/ca.pem" --credentials "$T/admin.json" \
  --in "$T/pt.cfe" --out "$T/pt2" >/dev/null
cmp "$T/pt" "$T/pt2" || fail "envelope over TLS did not round-trip"
echo "ok: confide encrypt/decrypt over TLS"

# 3. Refusals: a wrong CA, no CA (the system store does not hold the test root), plain http
# to the TLS port, and --ca with an http:// endpoint (usage error).
refused() {
  local what=$1; shift
  if "$CONFIDE" "$@" --credentials "$T/admin.json" > "$T/out" 2> "$T/err"; then
    fail "$what: succeeded"
  fi
  if grep -q "KeyId\|Keys" "$T/out"; then fail "$what: got a KMS answer"; fi
}
refused "wrong CA" kms call ListKeys --kms-endpoint "$URL" --ca "$T/other/ca.pem"
refused "system store" kms call ListKeys --kms-endpoint "$URL"
refused "plain http to the TLS port" kms call ListKeys --kms-endpoint "http://127.0.0.1:$PORT"
refused "--ca with http://" kms call ListKeys --kms-endpoint "http://127.0.0.1:$PORT" --ca "$T/tls/ca.pem"
grep -q "https://" "$T/err" || fail "--ca with http:// error: $(cat "$T/err")"
refused "wrong CA (decrypt)" decrypt --kms-endpoint "$URL" --ca "$T/other/ca.pem" \
  --in "$T/pt.cfe" --out "$T/pt3"
[ ! -e "$T/pt3" ] || fail "decrypt wrote output through a refused connection"
echo "ok: wrong CA, system store and plain http are refused"

# 4. The AWS CLI over TLS.
if ! command -v aws >/dev/null 2>&1; then
  echo "SKIP (part): aws CLI not installed"
else
  export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
  export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
  export AWS_ACCESS_KEY_ID=AKIAADMIN00000000001 AWS_SECRET_ACCESS_KEY=admin-secret-key
  export AWS_MAX_ATTEMPTS=1
  unset AWS_CA_BUNDLE
  printf 'attack at dawn' > "$T/msg"
  aws --endpoint-url "$URL" --ca-bundle "$T/tls/ca.pem" kms encrypt --key-id "$KEY" \
    --plaintext "fileb://$T/msg" --encryption-context purpose=tls \
    --query CiphertextBlob --output text | base64 -d > "$T/msg.ct"
  aws --endpoint-url "$URL" --ca-bundle "$T/tls/ca.pem" kms decrypt \
    --ciphertext-blob "fileb://$T/msg.ct" --encryption-context purpose=tls \
    --query Plaintext --output text | base64 -d > "$T/msg2"
  cmp "$T/msg" "$T/msg2" || fail "aws encrypt/decrypt over TLS did not round-trip"
  # confide's client reads what the AWS CLI wrote, over the same TLS endpoint.
  B64=$(base64 -w0 "$T/msg.ct")
  "$CONFIDE" kms call Decrypt --kms-endpoint "$URL" --ca "$T/tls/ca.pem" \
    --credentials "$T/admin.json" \
    --json "{\"CiphertextBlob\":\"$B64\",\"EncryptionContext\":{\"purpose\":\"tls\"}}" |
    grep -q "$(base64 -w0 "$T/msg")" || fail "confide kms call Decrypt of the aws CLI's blob"
  if aws --endpoint-url "$URL" --ca-bundle "$T/other/ca.pem" --cli-connect-timeout 5 \
      kms list-keys > /dev/null 2> "$T/err"; then
    fail "aws CLI accepted a certificate from the wrong CA"
  fi
  grep -qi "ssl\|certificate" "$T/err" || fail "aws wrong CA: $(cat "$T/err")"
  echo "ok: aws CLI over TLS (right CA accepted, wrong CA refused)"
fi
echo "kms tls test passed"
