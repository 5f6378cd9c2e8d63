#!/usr/bin/env bash
# Envelope files end to end against `confide kms serve`: `confide kms call` (CreateKey with a
# policy, AccessDeniedException for the parent), `confide encrypt` / `decrypt` / `model seal`
# round trips, wrong context and tampering (exit 1, no output), and interop: the header's
# CiphertextBlob decrypts with the real AWS CLI, and (with Python `cryptography`) an independent
# decryptor opens the segments with that data key.
# Usage: kms_envelope_test.sh CONFIDE_BINARY
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
[[identity]]
access_key_id = "AKIAPARENT0000000001"
secret_access_key = "parent-secret-key"
principal_arn = "arn:aws:iam::111122223333:role/parent"
IDS
mkdir "$T/data"
"$CONFIDE" kms serve --listen 127.0.0.1:0 --data-dir "$T/data" --identities "$T/ids.toml" \
  > "$T/server.out" 2> "$T/server.err" &
SERVER_PID=$!
for _ in $(seq 1 100); do grep -q "listening on" "$T/server.out" 2>/dev/null && break; sleep 0.1; done
PORT=$(sed -n 's/.*listening on .*:\([0-9]*\)$/\1/p' "$T/server.out")
[ -n "$PORT" ] || fail "server did not start: $(cat "$T/server.err")"
EP="--kms-endpoint http://127.0.0.1:$PORT"
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_REGION
export AWS_DEFAULT_REGION=us-east-1
echo '{"AccessKeyId":"AKIAADMIN00000000001","SecretAccessKey":"admin-secret-key"}' > "$T/admin.json"
echo '{"Credentials":{"AccessKeyId":"AKIAPARENT0000000001","SecretAccessKey":"parent-secret-key"}}' > "$T/parent.json"
json_get() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval('d'+sys.argv[1]))" "$1"; }

# 1. kms call: CreateKey, and no credentials is a clear error.
KEY=$("$CONFIDE" kms call CreateKey --json '{"Description":"envelope"}' $EP --credentials "$T/admin.json" \
  | json_get '["KeyMetadata"]["KeyId"]')
[[ "$KEY" =~ ^[0-9a-f-]{36}$ ]] || fail "CreateKey returned '$KEY'"
if "$CONFIDE" kms call ListKeys $EP 2> "$T/err"; then fail "call without credentials succeeded"; fi
grep -q "no credentials" "$T/err" || fail "no-credentials message: $(cat "$T/err")"
echo "ok: kms call CreateKey"

# 2. encrypt / decrypt round trips (several sizes, env credentials), wrong context, tampering.
export AWS_ACCESS_KEY_ID=AKIAADMIN00000000001 AWS_SECRET_ACCESS_KEY=admin-secret-key
for size in 0 1 4096 8192 3000001; do
  head -c "$size" /dev/urandom > "$T/pt"
  "$CONFIDE" encrypt $EP --key-id "$KEY" --context purpose=test --context tenant=a \
    --segment-size 4096 --in "$T/pt" --out "$T/pt.cfe" > "$T/enc.out"
  grep -q "^sealed " "$T/enc.out" || fail "encrypt output: $(cat "$T/enc.out")"
  rm -f "$T/back"
  "$CONFIDE" decrypt $EP --context purpose=test --in "$T/pt.cfe" --out "$T/back" > "$T/dec.out"
  cmp "$T/pt" "$T/back" || fail "round trip of $size bytes"
  [ "$(stat -c %a "$T/back")" = 600 ] || fail "decrypted file is not 0600"
done
echo "ok: encrypt/decrypt round trips"
head -c 100000 /dev/urandom > "$T/pt"
"$CONFIDE" encrypt $EP --key-id "$KEY" --context purpose=test --in "$T/pt" --out "$T/pt.cfe" >/dev/null
rm -f "$T/back"
if "$CONFIDE" decrypt $EP --context purpose=other --in "$T/pt.cfe" --out "$T/back" 2> "$T/err"; then
  fail "decrypt with the wrong required context succeeded"; fi
grep -q "context has another value for 'purpose'" "$T/err" || fail "wrong context: $(cat "$T/err")"
[ ! -e "$T/back" ] || fail "output left after a refused decrypt"
cp "$T/pt.cfe" "$T/bad.cfe"
# Flip every bit of one byte (writing a constant would change nothing 1 time in 256).
b=$(od -An -tu1 -j50000 -N1 "$T/bad.cfe" | tr -d ' ')
printf "\\$(printf %03o $((b ^ 255)))" | dd of="$T/bad.cfe" bs=1 seek=50000 conv=notrunc 2>/dev/null
cmp -s "$T/pt.cfe" "$T/bad.cfe" && fail "the tampering changed nothing"
if "$CONFIDE" decrypt $EP --in "$T/bad.cfe" --out "$T/back" 2> "$T/err"; then fail "tampered decrypt succeeded"; fi
grep -q "decryption failed" "$T/err" || fail "tampered: $(cat "$T/err")"
[ ! -e "$T/back" ] || fail "output left after a failed decrypt"
head -c 1000 "$T/pt.cfe" > "$T/short.cfe"
if "$CONFIDE" decrypt $EP --in "$T/short.cfe" --out "$T/back" 2> "$T/err"; then fail "truncated decrypt succeeded"; fi
grep -q "truncated" "$T/err" || fail "truncated: $(cat "$T/err")"
if "$CONFIDE" encrypt $EP --key-id alias/missing --in "$T/pt" --out "$T/x.cfe" 2> "$T/err"; then
  fail "encrypt under a missing key succeeded"; fi
grep -q "KMS GenerateDataKey: NotFoundException" "$T/err" || fail "missing key: $(cat "$T/err")"
[ ! -e "$T/x.cfe" ] || fail "output left after a failed encrypt"
echo "ok: wrong context, tampering, truncation and KMS errors exit 1 with no output"

# 3. model seal prints the plaintext SHA-256 and binds confide:purpose=model.
head -c 200000 /dev/urandom > "$T/model.gguf"
"$CONFIDE" model seal $EP --key-id "$KEY" --in "$T/model.gguf" --out "$T/model.sealed" > "$T/seal.out"
SHA=$(sha256sum "$T/model.gguf" | cut -d' ' -f1)
grep -qx "model_sha256 $SHA" "$T/seal.out" || fail "model seal output: $(cat "$T/seal.out")"
"$CONFIDE" decrypt $EP --context confide:purpose=model --in "$T/model.sealed" --out "$T/model.back" >/dev/null
cmp "$T/model.gguf" "$T/model.back" || fail "sealed model round trip"
if "$CONFIDE" decrypt $EP --context confide:purpose=model --in "$T/pt.cfe" --out "$T/x" 2>/dev/null; then
  fail "a non-model envelope passed as a model"; fi
echo "ok: model seal"

# 4. A policy that lets the parent encrypt but not decrypt: AccessDeniedException, exit 1.
POLICY='{"Version":"2012-10-17","Statement":[{"Sid":"Admin","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/admin"},"Action":"kms:*","Resource":"*"},{"Sid":"Parent","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/parent"},"Action":["kms:GenerateDataKey","kms:Encrypt"],"Resource":"*"}]}'
REQ=$(python3 -c 'import json,sys; print(json.dumps({"Description":"gated","Policy":sys.argv[1]}))' "$POLICY")
GATED=$("$CONFIDE" kms call CreateKey --json "$REQ" $EP | json_get '["KeyMetadata"]["KeyId"]')
"$CONFIDE" encrypt $EP --credentials "$T/parent.json" --key-id "$GATED" --in "$T/pt" --out "$T/g.cfe" >/dev/null
if "$CONFIDE" decrypt $EP --credentials "$T/parent.json" --in "$T/g.cfe" --out "$T/x" 2> "$T/err"; then
  fail "the parent decrypted"; fi
grep -q "KMS Decrypt: AccessDeniedException" "$T/err" || fail "parent decrypt: $(cat "$T/err")"
if "$CONFIDE" kms call DescribeKey --json "{\"KeyId\":\"$GATED\"}" $EP --credentials "$T/parent.json" 2> "$T/err"; then
  fail "the parent described the key"; fi
grep -q "AccessDeniedException" "$T/err" || fail "parent describe: $(cat "$T/err")"
"$CONFIDE" decrypt $EP --in "$T/g.cfe" --out "$T/g.back" >/dev/null && cmp "$T/pt" "$T/g.back" \
  || fail "admin decrypt of the parent's envelope"
echo "ok: parent gets AccessDeniedException"

# 5. Interop: the AWS CLI decrypts the header's CiphertextBlob; an independent decryptor opens
# the segments with that data key.
if ! command -v aws >/dev/null 2>&1; then echo "SKIP: aws CLI not installed (interop part)"; echo "kms envelope test passed"; exit 0; fi
python3 - "$T/pt.cfe" "$T/blob" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
assert d[:5] == b"CFE1\x01"
blob_len = struct.unpack(">H", d[45:47])[0]
open(sys.argv[2], "wb").write(d[47:47 + blob_len])
PY
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
aws --endpoint-url "http://127.0.0.1:$PORT" kms decrypt --ciphertext-blob "fileb://$T/blob" \
  --encryption-context purpose=test --query Plaintext --output text | base64 -d > "$T/datakey"
[ "$(stat -c %s "$T/datakey")" = 32 ] || fail "aws kms decrypt did not return a 32-byte data key"
if aws --endpoint-url "http://127.0.0.1:$PORT" kms decrypt --ciphertext-blob "fileb://$T/blob" \
  > /dev/null 2> "$T/err"; then fail "aws decrypted the blob without the context"; fi
grep -q InvalidCiphertextException "$T/err" || fail "aws without context: $(cat "$T/err")"
echo "ok: aws kms decrypt opens the envelope's CiphertextBlob"
if python3 -c 'import cryptography' 2>/dev/null; then
  python3 - "$T/pt.cfe" "$T/datakey" "$T/py.back" <<'PY'
import hashlib, struct, sys
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives import hashes
d = open(sys.argv[1], "rb").read(); key = open(sys.argv[2], "rb").read()
hlen, = struct.unpack(">I", d[5:9]); header = d[:hlen]
seg, ptlen = struct.unpack(">IQ", d[10:22]); salt, prefix = d[22:38], d[38:45]
skey = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"confide stream AES-256-GCM v1").derive(key)
aad = hashlib.sha256(header).digest(); n = max(1, -(-ptlen // seg)); off = hlen; out = b""
for i in range(n):
    clen = min(seg, ptlen - i * seg) + 16
    out += AESGCM(skey).decrypt(prefix + struct.pack(">I", i) + bytes([i == n - 1]), d[off:off + clen], aad)
    off += clen
assert off == len(d)
open(sys.argv[3], "wb").write(out)
PY
  cmp "$T/pt" "$T/py.back" || fail "independent decryptor disagrees"
  echo "ok: an independent (Python cryptography) decryptor opens the envelope"
else
  echo "SKIP: python cryptography not installed (independent decryptor)"
fi
echo "kms envelope test passed"
