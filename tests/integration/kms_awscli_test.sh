#!/usr/bin/env bash
# Drives `confide kms serve` with the real AWS CLI (v1, the image's `aws` on PATH) and boto3:
# create-key, alias, encrypt/decrypt with context, data keys, the seeds' scenario (a policy
# that lets the parent's principal Decrypt only with a Recipient whose ImageSha384 matches), and
# asymmetric keys: sign/verify checked by openssl and python-cryptography on get-public-key's
# output, generate-data-key-pair and re-encrypt.
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
# 3. Asymmetric keys: sign/verify (RAW and DIGEST) checked with openssl on the GetPublicKey
# output, a tampered signature refused, generate-data-key-pair and re-encrypt.
der_to_pem() { openssl pkey -pubin -inform DER -in "$1" -out "$2" 2>/dev/null || fail "$1 is not an SPKI"; }
EC=$(as_admin kms create-key --key-spec ECC_NIST_P256 --key-usage SIGN_VERIFY --query KeyMetadata.KeyId --output text)
as_admin kms describe-key --key-id "$EC" --query 'KeyMetadata.SigningAlgorithms[0]' --output text | grep -qx ECDSA_SHA_256 \
  || fail "describe-key of a P-256 signing key"
as_admin kms get-public-key --key-id "$EC" --query PublicKey --output text | base64 -d > "$T/ec.der"
der_to_pem "$T/ec.der" "$T/ec.pem"
as_admin kms sign --key-id "$EC" --message "fileb://$T/pt" --message-type RAW --signing-algorithm ECDSA_SHA_256 \
  --query Signature --output text | base64 -d > "$T/ec.sig"
openssl dgst -sha256 -verify "$T/ec.pem" -signature "$T/ec.sig" "$T/pt" >/dev/null || fail "openssl rejects the ECDSA signature"
as_admin kms verify --key-id "$EC" --message "fileb://$T/pt" --signature "fileb://$T/ec.sig" \
  --signing-algorithm ECDSA_SHA_256 --query SignatureValid --output text | grep -qx True || fail "kms verify (ECDSA)"
python3 -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read()); b[-1]^=1; open(sys.argv[2],"wb").write(b)' "$T/ec.sig" "$T/ec.bad"
if as_admin kms verify --key-id "$EC" --message "fileb://$T/pt" --signature "fileb://$T/ec.bad" \
    --signing-algorithm ECDSA_SHA_256 2> "$T/err" >/dev/null; then fail "a tampered signature verified"; fi
grep -q KMSInvalidSignatureException "$T/err" || fail "tampered signature: $(cat "$T/err")"

RSA=$(as_admin kms create-key --key-spec RSA_2048 --key-usage SIGN_VERIFY --query KeyMetadata.KeyId --output text)
as_admin kms get-public-key --key-id "$RSA" --query PublicKey --output text | base64 -d > "$T/rsa.der"
der_to_pem "$T/rsa.der" "$T/rsa.pem"
openssl dgst -sha256 -binary "$T/pt" > "$T/pt.sha256"
as_admin kms sign --key-id "$RSA" --message "fileb://$T/pt.sha256" --message-type DIGEST \
  --signing-algorithm RSASSA_PSS_SHA_256 --query Signature --output text | base64 -d > "$T/pss.sig"
openssl pkeyutl -verify -pubin -inkey "$T/rsa.pem" -in "$T/pt.sha256" -sigfile "$T/pss.sig" \
  -pkeyopt digest:sha256 -pkeyopt rsa_padding_mode:pss -pkeyopt rsa_pss_saltlen:digest >/dev/null \
  || fail "openssl rejects the RSASSA-PSS signature of a digest"
as_admin kms sign --key-id "$RSA" --message "fileb://$T/pt" --signing-algorithm RSASSA_PKCS1_V1_5_SHA_512 \
  --query Signature --output text | base64 -d > "$T/pkcs1.sig"
openssl dgst -sha512 -verify "$T/rsa.pem" -signature "$T/pkcs1.sig" "$T/pt" >/dev/null \
  || fail "openssl rejects the RSASSA-PKCS1-v1_5 signature"
if as_admin kms sign --key-id "$RSA" --message "fileb://$T/pt" --message-type DIGEST \
    --signing-algorithm RSASSA_PSS_SHA_256 2> "$T/err" >/dev/null; then fail "a digest of the wrong length was signed"; fi
grep -q "Digest is invalid length for algorithm RSASSA_PSS_SHA_256" "$T/err" || fail "bad digest: $(cat "$T/err")"
echo "ok: awscli sign/verify (ECDSA RAW, PSS DIGEST, PKCS1) verified by openssl"

as_admin kms generate-data-key-pair --key-id "$KEY" --key-pair-spec ECC_NIST_P384 --encryption-context purpose=pair \
  > "$T/pair.json"
python3 - "$T" <<'PY'
import base64, json, sys
t = sys.argv[1]
r = json.load(open(f"{t}/pair.json"))
for k in ("PrivateKeyPlaintext", "PublicKey", "PrivateKeyCiphertextBlob"):
    open(f"{t}/pair.{k}", "wb").write(base64.b64decode(r[k]))
assert r["KeyPairSpec"] == "ECC_NIST_P384", r
PY
openssl pkey -inform DER -in "$T/pair.PrivateKeyPlaintext" -pubout -outform DER -out "$T/pair.derived" 2>/dev/null \
  || fail "PrivateKeyPlaintext is not PKCS#8"
cmp "$T/pair.derived" "$T/pair.PublicKey" || fail "the data key pair's halves do not match"
as_admin kms decrypt --ciphertext-blob "fileb://$T/pair.PrivateKeyCiphertextBlob" --encryption-context purpose=pair \
  --query Plaintext --output text | base64 -d | cmp - "$T/pair.PrivateKeyPlaintext" \
  || fail "PrivateKeyCiphertextBlob does not decrypt to the private key"
as_admin kms generate-data-key-pair-without-plaintext --key-id "$KEY" --key-pair-spec RSA_2048 > "$T/pair2.json"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert "PrivateKeyPlaintext" not in r and r["PublicKey"], r' \
  "$T/pair2.json" || fail "generate-data-key-pair-without-plaintext"
echo "ok: awscli generate-data-key-pair(-without-plaintext)"

KEY2=$(as_admin kms create-key --description second --query KeyMetadata.KeyId --output text)
as_admin kms re-encrypt --ciphertext-blob "fileb://$T/ct" --source-encryption-context purpose=test \
  --destination-key-id "$KEY2" --destination-encryption-context stage=two --query CiphertextBlob --output text \
  | base64 -d > "$T/ct2"
as_admin kms decrypt --ciphertext-blob "fileb://$T/ct2" --encryption-context stage=two \
  --query Plaintext --output text | base64 -d | cmp - "$T/pt" || fail "re-encrypted ciphertext does not decrypt"
if as_admin kms re-encrypt --ciphertext-blob "fileb://$T/ct" --source-encryption-context purpose=other \
    --destination-key-id "$KEY2" 2> "$T/err" >/dev/null; then fail "re-encrypt with the wrong source context"; fi
grep -q InvalidCiphertextException "$T/err" || fail "re-encrypt wrong context: $(cat "$T/err")"
python3 - "$PORT" "$T" "$KEY" "$KEY2" <<'PY'
import sys, boto3, botocore, hashlib
try:  # python-cryptography: an independent check of the signature (optional)
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
except ImportError:
    serialization = None
    print("note: python cryptography not installed; the boto3 signature is checked by KMS only")
port, t, key, key2 = sys.argv[1:5]
kms = boto3.client("kms", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                   aws_access_key_id="AKIAADMIN00000000001", aws_secret_access_key="admin-secret-key")
k = kms.create_key(KeySpec="ECC_NIST_P384", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
spki = kms.get_public_key(KeyId=k)["PublicKey"]
msg = b"boto3 digest signing"
sig = kms.sign(KeyId=k, Message=hashlib.sha384(msg).digest(), MessageType="DIGEST",
               SigningAlgorithm="ECDSA_SHA_384")["Signature"]
if serialization is not None:
    serialization.load_der_public_key(spki).verify(sig, msg, ec.ECDSA(hashes.SHA384()))
assert kms.verify(KeyId=k, Message=msg, Signature=sig, SigningAlgorithm="ECDSA_SHA_384")["SignatureValid"]
try:
    kms.sign(KeyId=k, Message=msg, SigningAlgorithm="ECDSA_SHA_256")
    raise SystemExit("FAIL: ECDSA_SHA_256 on a P-384 key")
except botocore.exceptions.ClientError as e:
    assert e.response["Error"]["Code"] == "InvalidKeyUsageException", e.response["Error"]
ct = kms.encrypt(KeyId=key, Plaintext=b"boto3 re-encrypt")["CiphertextBlob"]
r = kms.re_encrypt(CiphertextBlob=ct, SourceKeyId=key, DestinationKeyId=key2)
assert r["SourceKeyId"].endswith(key) and r["KeyId"].endswith(key2), r
assert kms.decrypt(CiphertextBlob=r["CiphertextBlob"])["Plaintext"] == b"boto3 re-encrypt"
try:
    kms.re_encrypt(CiphertextBlob=ct, SourceKeyId=key2, DestinationKeyId=key2)
    raise SystemExit("FAIL: re-encrypt with the wrong SourceKeyId")
except botocore.exceptions.ClientError as e:
    assert e.response["Error"]["Code"] == "IncorrectKeyException", e.response["Error"]
h = kms.create_key(KeySpec="HMAC_384", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
assert h["MacAlgorithms"] == ["HMAC_SHA_384"], h
mac = kms.generate_mac(KeyId=h["KeyId"], Message=msg, MacAlgorithm="HMAC_SHA_384")["Mac"]
assert len(mac) == 48
assert kms.verify_mac(KeyId=h["KeyId"], Message=msg, Mac=mac, MacAlgorithm="HMAC_SHA_384")["MacValid"]
try:
    kms.verify_mac(KeyId=h["KeyId"], Message=msg + b"!", Mac=mac, MacAlgorithm="HMAC_SHA_384")
    raise SystemExit("FAIL: a MAC over another message verified")
except botocore.exceptions.ClientError as e:
    assert e.response["Error"]["Code"] == "KMSInvalidMacException", e.response["Error"]
print("ok: boto3 ECDSA P-384 DIGEST signing verified by cryptography; re-encrypt; HMAC")
PY
echo "ok: awscli re-encrypt"
"$CONFIDE" audit verify "$T/data/audit.log" --public-key "$T/data/audit-signing-key.pub.pem" >/dev/null 2>&1 \
  || { kill "$SERVER_PID"; wait "$SERVER_PID" || true; SERVER_PID="";
       "$CONFIDE" audit verify "$T/data/audit.log" --public-key "$T/data/audit-signing-key.pub.pem" >/dev/null \
       || fail "audit log does not verify"; }
echo "kms awscli test passed"
