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
# Usage: demo-run.sh [BUILD_DIR] [--model PATH] [--prompt TEXT] [--keep]
set -uo pipefail
build=build/debug
model=""
prompt="Once upon a time, a little robot"
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model=$2; shift 2 ;;
    --prompt) prompt=$2; shift 2 ;;
    --keep) export STACK_KEEP=1; shift ;;
    *) build=$1; shift ;;
  esac
done
# shellcheck source=lib/stack.sh
source "$(dirname "$0")/lib/stack.sh"
stack_init "$build"
trap stack_down EXIT
[ -n "$model" ] || model="$shared/models/stories260K.gguf"
[ -f "$model" ] || { echo "demo: no model at $model; pass --model PATH (any supported GGUF)" >&2; exit 1; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
die() { echo "demo: $*" >&2; exit 1; }
start=$(date +%s%N)

step "1. A simulation root for the emulated secure module, and a KMS"
stack_kms || die "the KMS did not start"
echo "KMS on $kms (AWS KMS JSON 1.1 + SigV4; signed audit log in $work/kms/audit.log)"

step "2. Build the measured enclave image (model: $(basename "$model"))"
stack_image "$model" || die "image build failed"
echo "PCR0 (the whole image) = $pcr0"
jq -r '"PCR1 (runtime)        = " + .Measurements.PCR1, "PCR2 (application)    = " + .Measurements.PCR2' \
  "$work/app.describe.json"

step "3. A KMS key that only this image can use to decrypt"
stack_key || die "CreateKey failed"
echo "key $key_id: Decrypt requires kms:RecipientAttestation:PCR0 = ${pcr0:0:16}..."

step "4. Seal the model with a data key under that KMS key"
stack_seal "$model" || die "sealing failed"
cat "$work/seal.out"

step "5. Start vsock-proxy, the parent's provisioning service, the enclave and the gateway"
stack_enclave 16 || die "the enclave did not start"
echo "enclave CID 16 running: $(jq -r '"start-to-ready " + (.StartToReadyMs // "?" | tostring) + " ms"' "$work/enclave-16.json" 2>/dev/null)"
stack_gateway 16 || die "the gateway did not start"
stack_wait_ready 60 || die "the enclave did not load its model"
echo "gateway on $gateway: it forwards ciphertext only"

step "6. Ask a sealed question (the client verifies the attestation first)"
stack_trust
echo "prompt: $prompt"
"$confide" chat --gateway "$gateway" --ca "$gateway_ca" --trust "$work/trust.json" \
  --max-tokens 64 -p "$prompt" || die "chat failed"

step "7. The parent cannot decrypt the model's data key without the enclave's attestation"
if "$confide" decrypt --kms-endpoint "$kms" --credentials "$work/parent.json" \
  --in "$work/model.sealed" --out "$work/stolen.gguf" 2>"$work/denied.err"; then
  die "UNEXPECTED: the parent decrypted the model"
fi
echo "refused as it must be: $(cat "$work/denied.err")"

elapsed_ms=$((($(date +%s%N) - start) / 1000000))
step "Demo complete in $((elapsed_ms / 1000)).$(printf '%03d' $((elapsed_ms % 1000))) s; shutting down"
