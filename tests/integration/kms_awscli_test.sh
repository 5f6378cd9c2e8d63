#!/usr/bin/env bash
# Drives `confide kms serve` with the real AWS CLI (v1, the image's `aws` on PATH) and boto3:
# create-key, alias, encrypt/decrypt with context, data keys, and the seeds' scenario: a policy
# that lets the parent's principal Decrypt only with a Recipient whose ImageSha384 matches.
# Usage: kms_awscli_test.sh CONFIDE_BINARY
set -euo pipefail
CONFIDE=$1
if ! command -v aws >/dev/null 2>&1; then echo "SKIP: aws CLI not installed"; exit 0; fi
if ! python3 -c 'import boto3' 2>/dev/null; then echo "SKIP: boto3 not installed"; exit 0; fi
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
"$CONFIDE" attest sim-ca --dir "$T/ca" >/dev/null
mkdir "$T/data"
"$CONFIDE" kms serve --listen 127.0.0.1:0 --data-dir "$T/data" --identities "$T/ids.toml" \
  --trust-root "$T/ca/root.pem" --allow-simulation-root > "$T/server.out" 2> "$T/server.err" &
SERVER_PID=$!
for _ in $(seq 1 100); do grep -q "listening on" "$T/server.out" 2>/dev/null && break; sleep 0.1; done
PORT=$(sed -n 's/.*listening on .*:\([0-9]*\)$/\1/p' "$T/server.out")
[ -n "$PORT" ] || fail "server did not start: $(cat "$T/server.err")"
export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
EP="--endpoint-url http://127.0.0.1:$PORT"
as_admin() { AWS_ACCESS_KEY_ID=AKIAADMIN00000000001 AWS_SECRET_ACCESS_KEY=admin-secret-key aws $EP "$@"; }
as_parent() { AWS_ACCESS_KEY_ID=AKIAPARENT0000000001 AWS_SECRET_ACCESS_KEY=parent-secret-key aws $EP "$@"; }

# 1. create-key, alias, encrypt/decrypt with context.
KEY=$(as_admin kms create-key --description demo --query KeyMetadata.KeyId --output text)
[[ "$KEY" =~ ^[0-9a-f-]{36}$ ]] || fail "create-key returned '$KEY'"
as_admin kms create-alias --alias-name alias/demo --target-key-id "$KEY"
printf 'attack at dawn' > "$T/pt"
as_admin kms encrypt --key-id alias/demo --plaintext "fileb://$T/pt" --encryption-context purpose=test \
  --query CiphertextBlob --output text | base64 -d > "$T/ct"
as_admin kms decrypt --ciphertext-blob "fileb://$T/ct" --encryption-context purpose=test \
  --query Plaintext --output text | base64 -d > "$T/pt2"
cmp "$T/pt" "$T/pt2" || fail "decrypt did not round-trip"
if as_admin kms decrypt --ciphertext-blob "fileb://$T/ct" 2> "$T/err" >/dev/null; then
  fail "decrypt without the context succeeded"; fi
grep -q InvalidCiphertextException "$T/err" || fail "wrong context: $(cat "$T/err")"
as_admin kms generate-data-key --key-id "$KEY" --key-spec AES_256 --query KeyId --output text | grep -q "$KEY"
as_admin kms list-aliases --query 'Aliases[0].AliasName' --output text | grep -qx alias/demo
echo "ok: awscli create-key/alias/encrypt/decrypt/generate-data-key"

# 2. The seeds' scenario.
PCR0=$(printf 'model server image' | sha384sum | cut -d' ' -f1)
cat > "$T/policy.json" <<POL
{"Version":"2012-10-17","Statement":[
 {"Sid":"Admin","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/admin"},"Action":"kms:*","Resource":"*"},
 {"Sid":"ParentEncrypt","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/parent"},"Action":["kms:Encrypt","kms:DescribeKey"],"Resource":"*"},
 {"Sid":"EnclaveDecrypt","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/parent"},"Action":"kms:Decrypt","Resource":"*",
  "Condition":{"StringEqualsIgnoreCase":{"kms:RecipientAttestation:ImageSha384":"$PCR0"}}}]}
POL
GATED=$(as_admin kms create-key --policy "file://$T/policy.json" --query KeyMetadata.KeyId --output text)
as_parent kms encrypt --key-id "$GATED" --plaintext "fileb://$T/pt" --query CiphertextBlob --output text \
  | base64 -d > "$T/gated.ct"
if as_parent kms decrypt --ciphertext-blob "fileb://$T/gated.ct" 2> "$T/err" >/dev/null; then
  fail "the parent decrypted without attestation"; fi
grep -q AccessDeniedException "$T/err" || fail "plain decrypt: $(cat "$T/err")"
echo "ok: plain decrypt by the parent is AccessDeniedException"

openssl genrsa -out "$T/enclave.key" 2048 2>/dev/null
SPKI=$(openssl rsa -in "$T/enclave.key" -pubout -outform DER 2>/dev/null | od -An -v -tx1 | tr -d ' \n')
"$CONFIDE" attest emulate --ca "$T/ca" --pcr "0=$PCR0" --public-key "$SPKI" --format raw --out "$T/good.doc"
"$CONFIDE" attest emulate --ca "$T/ca" --pcr "0=$(printf other | sha384sum | cut -d' ' -f1)" \
  --public-key "$SPKI" --format raw --out "$T/wrong.doc"
"$CONFIDE" attest emulate --ca "$T/ca" --pcr "0=$PCR0" --debug-mode --public-key "$SPKI" --format raw \
  --out "$T/debug.doc"
python3 - "$PORT" "$T" <<'PY'
import sys, boto3, botocore
port, t = sys.argv[1], sys.argv[2]
kms = boto3.client("kms", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                   aws_access_key_id="AKIAPARENT0000000001", aws_secret_access_key="parent-secret-key")
ct = open(f"{t}/gated.ct", "rb").read()
def recipient(name):
    return {"KeyEncryptionAlgorithm": "RSAES_OAEP_SHA_256",
            "AttestationDocument": open(f"{t}/{name}.doc", "rb").read()}
r = kms.decrypt(CiphertextBlob=ct, Recipient=recipient("good"))
assert "Plaintext" not in r or not r["Plaintext"], "plaintext returned to a Recipient request"
open(f"{t}/cfr.der", "wb").write(r["CiphertextForRecipient"])
for bad in ("wrong", "debug"):
    try:
        kms.decrypt(CiphertextBlob=ct, Recipient=recipient(bad))
        raise SystemExit(f"FAIL: {bad} document was admitted")
    except botocore.exceptions.ClientError as e:
        assert e.response["Error"]["Code"] == "AccessDeniedException", e.response["Error"]
print("ok: boto3 Recipient decrypt (good admitted; wrong-PCR and debug-mode denied)")
PY
openssl cms -decrypt -inform DER -in "$T/cfr.der" -inkey "$T/enclave.key" -out "$T/pt3" \
  || fail "openssl could not open CiphertextForRecipient"
cmp "$T/pt" "$T/pt3" || fail "CiphertextForRecipient does not hold the plaintext"
echo "ok: the enclave key opens CiphertextForRecipient"
"$CONFIDE" audit verify "$T/data/audit.log" --public-key "$T/data/audit-signing-key.pub.pem" >/dev/null 2>&1 \
  || { kill "$SERVER_PID"; wait "$SERVER_PID" || true; SERVER_PID="";
       "$CONFIDE" audit verify "$T/data/audit.log" --public-key "$T/data/audit-signing-key.pub.pem" >/dev/null \
       || fail "audit log does not verify"; }
echo "kms awscli test passed"
