#!/usr/bin/env bash
# The enclave round trip from the outside: build an image whose runtime is confide-enclave (and
# its libraries), run it in the process backend, fetch a document with a fresh nonce over vsock
# from the parent, verify it against the simulation root with the PCRs describe-image printed,
# and show that a debug-mode run's document fails that policy. Also: occupied CID, bad and
# missing images, a missing simulation root, a crashing runtime, a killed supervisor, console
# rules, PCR3/PCR4 from --parent-role/--parent-id, exit reasons of an enclave that dies after it
# was ready, too little memory for the image; each leaves no state behind (but exit records).
# Usage: cli_enclave_run_test.sh CONFIDE_BINARY CONFIDE_ENCLAVE_BINARY
# Exit 77 (ctest SKIP) where the sandbox's namespaces cannot be created.
set -uo pipefail
confide=$(realpath "$1")
runtime=$(realpath "$2")
work=$(mktemp -d)
chmod 0755 "$work"  # the enclave (nobody on the host) must reach its vsock directory
export CONFIDE_RUN_DIR="$work/run" CONFIDE_VSOCK_DIR="$work/vsock" CONFIDE_SIM_ROOT="$work/root"
export CONFIDE_VSOCK_TRANSPORT=emulated
cleanup() {
  for id in $("$confide" enclave describe 2>/dev/null | grep -o '"EnclaveID": "[^"]*' | cut -d'"' -f4); do
    "$confide" enclave terminate --enclave-id "$id" >/dev/null 2>&1
  done
  rm -rf "$work"
}
trap cleanup EXIT
if ! unshare --user --map-root-user --mount --pid --net --ipc --uts --fork true 2>/dev/null; then
  echo "SKIP: user/mount/pid/net namespaces are unavailable here (the process backend needs them)"
  exit 77
fi
pass=0
fail=0
check() {  # check NAME WANT_EXIT CMD...
  local name=$1 want=$2
  shift 2
  "$@" >"$work/out" 2>"$work/err"
  local got=$?
  if [ "$got" -eq "$want" ]; then pass=$((pass + 1)); else
    fail=$((fail + 1)); echo "FAIL: $name: exit $got, want $want"; cat "$work/out" "$work/err"; fi
}
contains() {  # contains NAME FILE TEXT
  if grep -qF -- "$3" "$2"; then pass=$((pass + 1)); else
    fail=$((fail + 1)); echo "FAIL: $1: '$3' not in $(cat "$2")"; fi
}
empty_state() {  # empty_state NAME: no state, lock, console or enclave vsock directory left
  local left f  # (exit records, and the debug consoles kept with them, are meant to stay)
  left=$(find "$work/run" "$work/vsock" -mindepth 1 ! -path "$work/vsock/3" ! -path "$work/vsock/3/*" \
           ! -name '*.exit' 2>/dev/null | while read -r f; do
           case "$f" in *.console) [ -e "${f%.console}.exit" ] || echo "$f" ;; *) echo "$f" ;; esac
         done)
  if [ -z "$left" ]; then pass=$((pass + 1)); else
    fail=$((fail + 1)); echo "FAIL: $1: stray state: $left"; fi
}
field() {  # field FILE NAME -> value of "NAME": "..." or number
  grep -o "\"$2\": \"\\?[^\",]*" "$1" | head -1 | sed 's/.*: "\?//'
}

# --- the image: confide-enclave plus the shared libraries it loads ---
mkdir -p "$work/img/rt" "$work/img/app" "$work/bad/rt"
strip --strip-debug -o "$work/img/rt/confide-enclave" "$runtime"  # as build-enclave-image.sh
for lib in $(ldd "$runtime" | grep -o '/[^ ]*'); do cp -L "$lib" "$work/img/rt/"; done
echo '{"listen_port": 5000}' >"$work/img/app/config.json"
runtime_files=$(cd "$work/img" && ls rt | sed 's|^|"rt/|; s|$|"|' | paste -sd,)
printf 'name = "roundtrip"\n[runtime]\nfiles = [%s]\n[application]\nfiles = ["app/config.json"]\n' \
  "$runtime_files" >"$work/img/enclave.toml"
check "build" 0 "$confide" enclave build --manifest "$work/img/enclave.toml" --output "$work/app.eif"
check "describe-image" 0 "$confide" enclave describe-image "$work/app.eif"
cp "$work/out" "$work/image.json"
pcr0=$(field "$work/image.json" PCR0)
pcr1=$(field "$work/image.json" PCR1)
pcr2=$(field "$work/image.json" PCR2)
policy=(--root "$work/root/root.pem" --allow-simulation-root
        --expect-pcr "0=$pcr0" --expect-pcr "1=$pcr1" --expect-pcr "2=$pcr2")

# --- the simulation root ---
check "run without a simulation root" 1 "$confide" enclave run --image "$work/app.eif" \
  --cpu-count 1 --memory 512 --cid 16
contains "missing root names init-root" "$work/err" "confide enclave init-root"
empty_state "no state after a missing root"
check "init-root" 0 "$confide" enclave init-root
contains "init-root prints the key path" "$work/out" "$work/root/root.key"
check "root key is 0600" 0 test "$(stat -c %a "$work/root/root.key")" = 600
check "init-root refuses to overwrite" 1 "$confide" enclave init-root

check "an unknown backend is refused" 1 env CONFIDE_ENCLAVE_BACKEND=kvm "$confide" enclave \
  describe
contains "unknown backend lists the known ones" "$work/err" "available: process"

# --- the image's files live in the enclave's memory: too little is refused up front ---
check "too little memory for the image" 1 "$confide" enclave run --image "$work/app.eif" \
  --cpu-count 1 --memory 64 --cid 16
contains "too little memory says how much" "$work/err" "give at least"
empty_state "no state after too little memory"

# --- production-mode round trip ---
role="arn:aws:iam::123456789012:role/confide-parent"
parent="i-0123456789abcdef0"
parent_pcr() { { head -c 48 /dev/zero; printf %s "$1"; } | sha384sum | cut -d' ' -f1; }
check "run" 0 "$confide" enclave run --image "$work/app.eif" --cpu-count 1 --memory 512 --cid 16 \
  --parent-role "$role" --parent-id "$parent"
cp "$work/out" "$work/run.json"
id=$(field "$work/run.json" EnclaveID)
contains "run prints the CID" "$work/run.json" '"EnclaveCID": 16'
contains "run prints MemoryMiB" "$work/run.json" '"MemoryMiB": 512'
contains "run says how memory is limited" "$work/run.json" '"MemoryLimit": '
contains "run prints the parent" "$work/run.json" "\"ParentID\": \"$parent\""
check "a parent id with a space is refused" 1 "$confide" enclave run --image "$work/app.eif" \
  --cpu-count 1 --memory 512 --cid 19 --parent-id "i-1 2"
policy_parent=(--expect-pcr "3=$(parent_pcr "$role")" --expect-pcr "4=$(parent_pcr "$parent")")
check "describe" 0 "$confide" enclave describe
cp "$work/out" "$work/describe.json"
for f in "\"EnclaveID\": \"$id\"" '"State": "RUNNING"' '"Flags": "NONE"' "\"PCR0\": \"$pcr0\"" \
         '"CPUIDs"' '"ProcessID"' "\"PCR3\": \"$(parent_pcr "$role")\"" \
         "\"PCR4\": \"$(parent_pcr "$parent")\""; do
  contains "describe has $f" "$work/describe.json" "$f"
done
nonce=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
check "fetch a document over vsock" 0 "$confide" enclave attestation --enclave-cid 16 \
  --nonce "$nonce" --output "$work/doc.cbor"
check "document verifies against the image's PCRs" 0 "$confide" attest verify "${policy[@]}" \
  --nonce "$nonce" "$work/doc.cbor"
contains "verifier flags simulation" "$work/out" '"simulation": true'
check "PCR3/PCR4 carry the parent's role and id" 0 "$confide" attest verify "${policy[@]}" \
  "${policy_parent[@]}" --nonce "$nonce" "$work/doc.cbor"
check "another parent's PCR4 fails" 1 "$confide" attest verify "${policy[@]}" \
  --expect-pcr "4=$(parent_pcr i-0fffffffffffffff0)" --nonce "$nonce" "$work/doc.cbor"
other=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
check "a stale nonce fails" 1 "$confide" attest verify "${policy[@]}" --nonce "$other" \
  "$work/doc.cbor"
check "without the simulation flag it fails" 1 "$confide" attest verify \
  --root "$work/root/root.pem" --nonce "$nonce" "$work/doc.cbor"
check "occupied CID" 1 "$confide" enclave run --image "$work/app.eif" --cpu-count 1 \
  --memory 512 --cid 16
contains "occupied CID is named" "$work/err" "CID 16 is in use"
check "no console without debug mode" 1 "$confide" enclave console --enclave-id "$id"
contains "console refusal says why" "$work/err" "debug-mode"
check "terminate" 0 "$confide" enclave terminate --enclave-id "$id"
contains "terminate reports" "$work/out" '"Terminated": true'
check "terminate again" 1 "$confide" enclave terminate --enclave-id "$id"
check "describe after terminate" 0 "$confide" enclave describe
contains "nothing running" "$work/out" "[]"
check "describe --include-exited" 0 "$confide" enclave describe --include-exited
contains "exit record says terminated" "$work/out" '"ExitReason": "terminated"'
empty_state "no state after terminate"

# --- an enclave that dies after it was ready: the reason is recorded, nothing else is left ---
check "run to crash" 0 "$confide" enclave run --image "$work/app.eif" --cpu-count 1 --memory 512 \
  --cid 16
cid16=$(field "$work/out" EnclaveID)
sup=$(field "$work/out" ProcessID)
kill -KILL "$(pgrep -P "$sup" | head -1)"  # init of a PID namespace only takes SIGKILL from outside
for _ in $(seq 50); do "$confide" enclave describe | grep -q "$cid16" || break; sleep 0.1; done
check "describe after a crash" 0 "$confide" enclave describe --include-exited
contains "crash reason is recorded" "$work/out" '"ExitReason": "killed by signal 9 (SIGKILL)"'
contains "crashed enclave is listed as exited" "$work/out" '"State": "EXITED"'
empty_state "no state after a crash"

# --- debug mode: the same image's document fails the image policy ---
check "run debug" 0 "$confide" enclave run --image "$work/app.eif" --cpu-count 1 --memory 512 \
  --cid 17 --debug-mode
did=$(field "$work/out" EnclaveID)
check "describe debug" 0 "$confide" enclave describe
contains "debug flag" "$work/out" '"Flags": "DEBUG_MODE"'
check "fetch from the debug enclave" 0 "$confide" enclave attestation --enclave-cid 17 \
  --nonce "$nonce" --output "$work/debug.cbor"
check "debug document fails the image policy" 1 "$confide" attest verify "${policy[@]}" \
  --nonce "$nonce" "$work/debug.cbor"
check "debug document is otherwise valid" 0 "$confide" attest verify \
  --root "$work/root/root.pem" --allow-simulation-root --nonce "$nonce" "$work/debug.cbor"
contains "debug PCR0 is zero" "$work/out" \
  '"0": "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"'
check "console" 0 "$confide" enclave console --enclave-id "$did" --disconnect-timeout 1
contains "console shows the runtime's output" "$work/out" "confide-enclave: ready on vsock 17:5000"

# --- a killed supervisor: its enclave dies with it, describe clears the state ---
spid=$(field "$work/out" ProcessID)
spid=$("$confide" enclave describe | grep -o '"ProcessID": [0-9]*' | grep -o '[0-9]*$')
kill -9 "$spid"
sleep 0.5
check "describe after a killed supervisor" 0 "$confide" enclave describe
contains "killed enclave is gone" "$work/out" "[]"
check "its enclave is unreachable" 1 "$confide" enclave attestation --enclave-cid 17 \
  --nonce "$nonce" --output "$work/x.cbor" --timeout 1
check "describe --include-exited after a killed supervisor" 0 "$confide" enclave describe \
  --include-exited
contains "killed supervisor is recorded" "$work/out" "died without cleaning up"
check "an exited debug enclave's console is kept" 0 "$confide" enclave console --enclave-id "$did"
contains "kept console has the runtime's output" "$work/out" "ready on vsock 17:5000"
empty_state "no state after a killed supervisor"

# --- failures leave nothing behind ---
check "missing image" 1 "$confide" enclave run --image "$work/nope.eif" --cpu-count 1 \
  --memory 512 --cid 18
contains "missing image is named" "$work/err" "nope.eif"
cp "$work/app.eif" "$work/corrupt.eif"
b=$(od -An -tu1 -j200 -N1 "$work/corrupt.eif" | tr -d ' ')  # flip all bits of one byte
printf "\\$(printf %03o $((b ^ 255)))" | dd of="$work/corrupt.eif" bs=1 seek=200 conv=notrunc status=none
check "corrupt image" 1 "$confide" enclave run --image "$work/corrupt.eif" --cpu-count 1 \
  --memory 512 --cid 18
contains "corrupt image is named" "$work/err" "corrupt.eif"
check "bad CID" 1 "$confide" enclave run --image "$work/app.eif" --cpu-count 1 --memory 512 \
  --cid 3
check "too many CPUs" 1 "$confide" enclave run --image "$work/app.eif" --cpu-count 4096 \
  --memory 512 --cid 18
head -c 4096 /dev/urandom >"$work/bad/rt/confide-enclave"
echo '{}' >"$work/bad/config.json"
printf 'name = "crash"\n[runtime]\nfiles = ["rt/confide-enclave"]\n[application]\nfiles = ["config.json"]\n' \
  >"$work/bad/enclave.toml"
check "build crashing image" 0 "$confide" enclave build --manifest "$work/bad/enclave.toml" \
  --output "$work/crash.eif"
check "crashing enclave" 1 "$confide" enclave run --image "$work/crash.eif" --cpu-count 1 \
  --memory 512 --cid 18 --debug-mode
contains "crash is reported" "$work/err" "exited before it was ready"
if [ "$(id -u)" -eq 0 ]; then  # as root the enclave is nobody, who must reach the directory
  mkdir -m 0700 "$work/private"
  check "unreachable vsock directory" 1 env CONFIDE_VSOCK_DIR="$work/private/vsock" \
    "$confide" enclave run --image "$work/app.eif" --cpu-count 1 --memory 512 --cid 18
  contains "unreachable vsock directory is explained" "$work/err" "lacks o+x"
  rm -rf "$work/private"
fi
empty_state "no state after failures"
check "CID is free again" 0 "$confide" enclave run --image "$work/app.eif" --cpu-count 1 \
  --memory 512 --cid 18
check "terminate last" 0 "$confide" enclave terminate --enclave-id "$(field "$work/out" EnclaveID)"
empty_state "no state at the end"

echo "cli_enclave_run: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
