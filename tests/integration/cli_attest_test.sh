#!/usr/bin/env bash
# `confide attest` from the outside: exit codes, input formats, error messages, and that no
# secret reaches the terminal. Usage: cli_attest_test.sh CONFIDE_BINARY SHARED_DIR
set -uo pipefail
confide=$1
shared=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0
fail=0
check() {  # check NAME WANT_EXIT CMD...
  local name=$1 want=$2
  shift 2
  "$@" >"$work/out" 2>"$work/err"
  local got=$?
  if [ "$got" -eq "$want" ]; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL: $name: exit $got, want $want"; cat "$work/err"
  fi
}
contains() {  # contains NAME FILE TEXT
  if grep -qF -- "$3" "$2"; then pass=$((pass + 1)); else
    fail=$((fail + 1)); echo "FAIL: $1: '$3' not in $(cat "$2")"; fi
}

check "usage: no subcommand" 2 "$confide"
check "usage: verify without --root" 2 "$confide" attest verify "$work/none"
check "missing document" 1 "$confide" attest verify --root "$work/none.pem" "$work/none"
contains "missing root named" "$work/err" "cannot open"

check "sim-ca" 0 "$confide" attest sim-ca --dir "$work/ca"
perm=$(stat -c %a "$work/ca/root.key")
if [ "$perm" = "600" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: root.key mode $perm"; fi
nonce=00112233445566778899aabbccddeeff
for fmt in raw hex base64; do
  check "emulate $fmt" 0 "$confide" attest emulate --ca "$work/ca" --nonce $nonce \
    --format $fmt --out "$work/doc.$fmt"
  check "verify $fmt" 0 "$confide" attest verify --root "$work/ca/root.pem" \
    --allow-simulation-root --nonce $nonce "$work/doc.$fmt"
  contains "verify $fmt json" "$work/out" '"verified": true'
  contains "verify $fmt flags simulation" "$work/out" '"simulation": true'
done
check "verify from stdin" 0 sh -c "'$confide' attest verify --root '$work/ca/root.pem' \
  --allow-simulation-root - < '$work/doc.hex'"
check "no secret on stdout/stderr" 0 true
if grep -q "PRIVATE KEY" "$work/out" "$work/err"; then fail=$((fail + 1)); echo "FAIL: key printed"; fi
check "debug mode fails an image PCR policy" 0 "$confide" attest emulate --ca "$work/ca" \
  --debug-mode --pcr 0=$(printf 'ab%.0s' $(seq 48)) --out "$work/debug.cbor"
check "debug doc rejected" 1 "$confide" attest verify --root "$work/ca/root.pem" \
  --allow-simulation-root --expect-pcr 0=$(printf 'ab%.0s' $(seq 48)) "$work/debug.cbor"
contains "debug doc reason" "$work/err" "PCR0 does not match"
check "bad pcr arg" 1 "$confide" attest verify --root "$work/ca/root.pem" \
  --allow-simulation-root --expect-pcr 40=00 "$work/doc.raw"
check "bad time" 1 "$confide" attest verify --root "$work/ca/root.pem" \
  --allow-simulation-root --at yesterday "$work/doc.raw"
check "garbage document" 1 "$confide" attest verify --root "$work/ca/root.pem" \
  --allow-simulation-root "$work/ca/root.pem"
check "tampered ca dir" 1 sh -c "cp '$work/ca/root.pem' '$work/ca/intermediate.pem' && \
  '$confide' attest emulate --ca '$work/ca' --out '$work/x'"

nitro=$shared/testdata/nitro
if [ -f "$nitro/attestation_ic_tee_2024-11-05.hex" ]; then
  check "nitro at its time (ms)" 0 "$confide" attest verify --root "$nitro/aws_nitro_root_g1.pem" \
    --at 1730792863352ms "$nitro/attestation_ic_tee_2024-11-05.hex"
  check "nitro expired" 1 "$confide" attest verify --root "$nitro/aws_nitro_root_g1.pem" \
    --at 2026-11-22T00:00:00Z "$nitro/attestation_ic_tee_2024-11-05.hex"
  contains "nitro expired reason" "$work/err" "expired"
  check "nitro vs simulation root" 1 "$confide" attest verify --root "$work/ca/root.pem" \
    --allow-simulation-root --at 1730792863352ms "$nitro/attestation_ic_tee_2024-11-05.hex"
else
  echo "SKIP: $nitro not found; real-document CLI checks did not run"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
