#!/usr/bin/env bash
# The demo (`make demo`, after the build): a sealed question answered by a model in an enclave.
#   1. a simulation root (the emulated Nitro secure module's CA) and a KMS;
#   2. a measured enclave image (confide-enclave + its config, the model's SHA-256 pinned);
#   3. a KMS key whose policy lets the parent decrypt only with an attestation of that image;
#   4. the model sealed with that key (envelope encryption), served to the enclave by the parent;
#   5. vsock-proxy (enclave -> KMS), the enclave, the gateway (TLS);
#   6. `confide chat` verifies the enclave's attestation, seals a question to the enclave's key
#      and streams the sealed answer back;
#   7. the parent itself tries to decrypt the sealed model's data key: AccessDeniedException.
# Usage: demo-run.sh [BUILD_DIR] [--model PATH] [--prompt TEXT]
set -uo pipefail
build=build/debug
model=""
prompt="Once upon a time, a little robot"
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model=$2; shift 2 ;;
    --prompt) prompt=$2; shift 2 ;;
    *) build=$1; shift ;;
  esac
done
repo=$(cd "$(dirname "$0")/.." && pwd)
build=$(realpath "$build")
confide="$build/apps/confide/confide"
enclave_bin="$build/apps/confide-enclave/confide-enclave"
shared=${CONFIDE_SHARED_DIR:-$(cd "$repo/.." && pwd)/shared}
[ -n "$model" ] || model="$shared/models/stories260K.gguf"
if [ ! -f "$model" ]; then
  echo "demo: no model at $model; pass --model PATH (any supported GGUF)" >&2
  exit 1
fi

work=$(mktemp -d /tmp/confide-demo.XXXXXX)
chmod 0755 "$work"  # the enclave (nobody on the host) must reach its vsock directory
export CONFIDE_RUN_DIR="$work/run" CONFIDE_VSOCK_DIR="$work/vsock" CONFIDE_SIM_ROOT="$work/sim-root"
export CONFIDE_VSOCK_TRANSPORT=emulated
pids=()
cleanup() {
  for id in $("$confide" enclave describe 2>/dev/null | grep -o '"EnclaveID": "[^"]*' | cut -d'"' -f4); do
    "$confide" enclave terminate --enclave-id "$id" >/dev/null 2>&1
  done
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
die() { echo "demo: $*" >&2; exit 1; }
wait_for() {  # wait_for FILE TEXT SECONDS
  for _ in $(seq 1 $(($3 * 10))); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  die "timed out waiting for '$2' in $1: $(tail -5 "$1" 2>/dev/null)"
}
start=$(date +%s%N)

step "1. A simulation root for the emulated secure module, and a KMS"
"$confide" enclave init-root >/dev/null || die "init-root failed"
cat >"$work/identities.toml" <<'IDS'
[[identity]]
access_key_id = "AKIADEMOADMIN0000001"
secret_access_key = "demo-admin-secret"
principal_arn = "arn:aws:iam::111122223333:role/admin"
[[identity]]
access_key_id = "AKIADEMOPARENT000001"
secret_access_key = "demo-parent-secret"
principal_arn = "arn:aws:iam::111122223333:role/parent"
IDS
echo '{"AccessKeyId":"AKIADEMOADMIN0000001","SecretAccessKey":"demo-admin-secret"}' >"$work/admin.json"
echo '{"AccessKeyId":"AKIADEMOPARENT000001","SecretAccessKey":"demo-parent-secret"}' >"$work/parent.json"
mkdir -p "$work/kms"
"$confide" kms serve --listen 127.0.0.1:0 --data-dir "$work/kms" --identities "$work/identities.toml" \
  --trust-root "$CONFIDE_SIM_ROOT/root.pem" --allow-simulation-root >"$work/kms.out" 2>"$work/kms.err" &
pids+=($!)
wait_for "$work/kms.out" "listening on" 10
kms_port=$(sed -n 's/.*listening on .*:\([0-9]*\)$/\1/p' "$work/kms.out")
kms="http://127.0.0.1:$kms_port"
echo "KMS on $kms (AWS KMS JSON 1.1 + SigV4; audit log in $work/kms/audit.log)"

step "2. Build the measured enclave image (model: $(basename "$model"))"
pcr0=$(bash "$repo/scripts/build-enclave-image.sh" "$confide" "$enclave_bin" "$model" "$work") ||
  die "image build failed"
echo "PCR0 (the whole image) = $pcr0"

step "3. A KMS key that only that image can use to decrypt"
cat >"$work/policy.json" <<POL
{"Version":"2012-10-17","Statement":[
 {"Sid":"Admin","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/admin"},"Action":"kms:*","Resource":"*"},
 {"Sid":"ParentMayEncrypt","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/parent"},"Action":["kms:Encrypt","kms:GenerateDataKey","kms:DescribeKey"],"Resource":"*"},
 {"Sid":"OnlyTheAttestedEnclaveDecrypts","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/parent"},"Action":"kms:Decrypt","Resource":"*",
  "Condition":{"StringEqualsIgnoreCase":{"kms:RecipientAttestation:PCR0":"$pcr0"}}}]}
POL
key_id=$("$confide" kms call CreateKey --kms-endpoint "$kms" --credentials "$work/admin.json" \
  --json "$(jq -n --rawfile p "$work/policy.json" '{Description:"demo model key", Policy:$p}')" |
  jq -r .KeyMetadata.KeyId) || die "CreateKey failed"
echo "key $key_id: Decrypt requires kms:RecipientAttestation:PCR0 = $pcr0"

step "4. Seal the model with a data key under that KMS key"
"$confide" model seal --kms-endpoint "$kms" --credentials "$work/parent.json" --key-id "$key_id" \
  --in "$model" --out "$work/model.sealed" || die "model seal failed"

step "5. Start vsock-proxy, the parent's provisioning service, the enclave and the gateway"
printf 'allowlist:\n- {address: 127.0.0.1, port: %s}\n' "$kms_port" >"$work/vsock-proxy.yaml"
"$confide" vsock-proxy --config "$work/vsock-proxy.yaml" 8000 127.0.0.1 "$kms_port" \
  >"$work/proxy.out" 2>&1 &
pids+=($!)
"$confide" enclave provide --model "$work/model.sealed" --credentials "$work/parent.json" \
  >"$work/provide.out" 2>&1 &
pids+=($!)
"$confide" enclave run --image "$work/app.eif" --cpu-count 1 --memory 1024 --cid 16 \
  >"$work/enclave.json" || die "enclave run failed"
echo "enclave 16 running; start-to-ready $(jq -r '.StartToReadyMs // empty' "$work/enclave.json") ms"
"$confide" tls self-signed --out-dir "$work/tls" --host localhost --ip 127.0.0.1 >/dev/null ||
  die "tls self-signed failed"
"$confide" gateway --listen 127.0.0.1:0 --enclave 16:5000 --tls-cert "$work/tls/cert.pem" \
  --tls-key "$work/tls/key.pem" >"$work/gateway.out" 2>"$work/gateway.err" &
pids+=($!)
wait_for "$work/gateway.out" "listening on" 20
gw_port=$(sed -n 's/.*listening on .*:\([0-9]*\).*/\1/p' "$work/gateway.out" | head -1)
gateway="https://localhost:$gw_port"
for _ in $(seq 1 600); do
  curl -sk "$gateway/healthz" 2>/dev/null | grep -q '"enclaves_healthy": *[1-9]' && break
  sleep 0.1
done
echo "gateway on $gateway (sees ciphertext only)"

step "6. Ask a sealed question (client verifies the attestation first)"
cat >"$work/trust.json" <<JSON
{"roots": ["$CONFIDE_SIM_ROOT/root.pem"], "allow_simulation_root": true,
 "image": "$work/app.describe.json", "max_document_age_seconds": 300}
JSON
echo "prompt: $prompt"
"$confide" chat --gateway "$gateway" --ca "$work/tls/cert.pem" --trust "$work/trust.json" \
  --max-tokens 64 -p "$prompt" || die "chat failed"

step "7. The parent cannot decrypt the model's data key without the enclave's attestation"
if "$confide" decrypt --kms-endpoint "$kms" --credentials "$work/parent.json" \
  --in "$work/model.sealed" --out "$work/stolen.gguf" 2>"$work/denied.err"; then
  die "UNEXPECTED: the parent decrypted the model"
fi
echo "refused as it must be: $(cat "$work/denied.err")"

elapsed_ms=$((($(date +%s%N) - start) / 1000000))
step "Demo complete in $((elapsed_ms / 1000)).$(printf '%03d' $((elapsed_ms % 1000))) s; shutting down"
