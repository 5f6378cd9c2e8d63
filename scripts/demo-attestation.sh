#!/usr/bin/env bash
# The attestation demo (`make demo-attestation`): an attestation round trip.
#   1. a simulation CA and an emulated secure module sign a Nitro-format attestation document
#      over measured PCRs, a client's fresh nonce and the enclave's public key;
#   2. a client verifies it, pinning the PCRs and the nonce (accepted), and then each way it
#      must be rejected (wrong PCR, replayed nonce, simulation root not trusted, a flipped byte);
#   3. a real AWS Nitro document verifies against the AWS Nitro root at its own time, and is
#      rejected at today's date because its certificates have expired.
set -uo pipefail
build=${1:-build/debug}
confide="$build/apps/confide/confide"
shared=${CONFIDE_SHARED_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/shared}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
expect_reject() {
  if "$@" >"$work/out" 2>"$work/err"; then
    echo "UNEXPECTED: accepted"; cat "$work/out"; exit 1
  fi
  printf 'rejected as it must be: %s\n' "$(cat "$work/err")"
}

step "Measure the enclave image sections (PCR = SHA-384(0^48 || SHA-384(section)))"
printf 'runtime: confide-enclave demo build\n' >"$work/runtime.bin"
printf 'application: model=stories260K guardrails=default\n' >"$work/app.bin"
pcr0=$("$confide" attest measure "$work/runtime.bin" "$work/app.bin")
pcr1=$("$confide" attest measure "$work/runtime.bin")
pcr2=$("$confide" attest measure "$work/app.bin")
echo "PCR0=$pcr0"; echo "PCR1=$pcr1"; echo "PCR2=$pcr2"

step "Create a simulation CA (development only; verifiers refuse it unless told)"
"$confide" attest sim-ca --dir "$work/ca" || exit 1

step "The client picks a fresh nonce; the emulated secure module signs a document"
nonce=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
pubkey=$(head -c 64 /dev/urandom | od -An -tx1 | tr -d ' \n')
"$confide" attest emulate --ca "$work/ca" --module-id i-0demo0000000000-enc0000000000000001 \
  --pcr "0=$pcr0" --pcr "1=$pcr1" --pcr "2=$pcr2" --nonce "$nonce" --public-key "$pubkey" \
  --out "$work/doc.cbor" || exit 1
echo "document: $(wc -c <"$work/doc.cbor") bytes (COSE_Sign1, ES384)"

step "Client verifies: pinned root, expected PCRs and its nonce"
"$confide" attest verify --root "$work/ca/root.pem" --allow-simulation-root \
  --expect-pcr "0=$pcr0" --expect-pcr "2=$pcr2" --nonce "$nonce" --max-age 300 \
  "$work/doc.cbor" || exit 1

step "A different application image (PCR2) must be rejected"
expect_reject "$confide" attest verify --root "$work/ca/root.pem" --allow-simulation-root \
  --expect-pcr "2=$("$confide" attest measure "$work/runtime.bin")" "$work/doc.cbor"

step "A replayed document (another session's nonce) must be rejected"
expect_reject "$confide" attest verify --root "$work/ca/root.pem" --allow-simulation-root \
  --nonce "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" "$work/doc.cbor"

step "Without explicitly trusting the simulation root, nothing emulated verifies"
expect_reject "$confide" attest verify --root "$work/ca/root.pem" "$work/doc.cbor"

step "One flipped bit anywhere must be rejected"
cp "$work/doc.cbor" "$work/tampered.cbor"
# XOR (not overwrite) byte 200 with 1, so the document always changes (writing a constant
# left it unchanged whenever that byte already held the constant: a 1-in-256 flaky pass).
byte=$(od -An -tu1 -j200 -N1 "$work/doc.cbor" | tr -d ' ')
printf "\\$(printf '%03o' $((byte ^ 1)))" |
  dd of="$work/tampered.cbor" bs=1 seek=200 conv=notrunc status=none
cmp -s "$work/doc.cbor" "$work/tampered.cbor" && { echo "tamper did not change the document"; exit 1; }
expect_reject "$confide" attest verify --root "$work/ca/root.pem" --allow-simulation-root \
  "$work/tampered.cbor"

nitro="$shared/testdata/nitro"
if [ -f "$nitro/attestation_ic_tee_2024-11-05.hex" ]; then
  step "A real AWS Nitro document, at its own time (2024-11-05T07:47:43Z)"
  "$confide" attest verify --root "$nitro/aws_nitro_root_g1.pem" \
    --at 2024-11-05T07:47:43Z "$nitro/attestation_ic_tee_2024-11-05.hex" || exit 1
  step "The same document today: its certificates expired long ago"
  expect_reject "$confide" attest verify --root "$nitro/aws_nitro_root_g1.pem" \
    "$nitro/attestation_ic_tee_2024-11-05.hex"
else
  step "SKIP: $nitro not found; the real Nitro document part of the demo did not run"
fi
step "Demo complete"
