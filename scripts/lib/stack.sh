# shellcheck shell=bash
# A whole confide deployment on one machine, as shell functions: the demo (scripts/demo-run.sh)
# and the end-to-end tests (tests/integration/sealed_*_test.sh) start the same stack.
#
#   stack_init BUILD_DIR          work dir, environment, binaries ($confide, $enclave_bin)
#   stack_kms                     simulation root, identities, `confide kms serve` ($kms)
#   stack_image MODEL             measured enclave image ($pcr0, $work/app.eif)
#   stack_key                     KMS key whose Decrypt needs that PCR0 ($key_id)
#   stack_seal MODEL              sealed model ($work/model.sealed)
#   stack_enclave CID             vsock-proxy, provisioning, `confide enclave run`
#   stack_gateway CID...          TLS certificate, `confide gateway` ($gateway, $gateway_ca)
#   stack_wait_ready              until the gateway reports a healthy enclave
#   stack_trust                   trust policy pinning the image ($work/trust.json)
#   stack_down                    terminate everything, remove the work dir
# Every background process's output goes to $work/<name>.out / .err. Functions return non-zero
# with a message on stderr on failure.

stack_init() {
  local build
  build=$(realpath "$1")
  stack_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  confide="$build/apps/confide/confide"
  enclave_bin="$build/apps/confide-enclave/confide-enclave"
  shared=${CONFIDE_SHARED_DIR:-$(cd "$stack_repo/.." && pwd)/shared}
  work=$(mktemp -d /tmp/confide-stack.XXXXXX)
  chmod 0755 "$work"  # the enclave (nobody on the host) must reach its vsock directory
  export CONFIDE_RUN_DIR="$work/run" CONFIDE_VSOCK_DIR="$work/vsock" CONFIDE_SIM_ROOT="$work/sim-root"
  export CONFIDE_VSOCK_TRANSPORT=emulated
  stack_pids=()
}

stack_fail() { echo "stack: $*" >&2; return 1; }

# stack_wait_for FILE TEXT SECONDS
stack_wait_for() {
  local i
  for i in $(seq 1 $(($3 * 10))); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  stack_fail "timed out waiting for '$2' in $1: $(tail -5 "$1" 2>/dev/null)"
}

stack_bg() {  # stack_bg NAME CMD...: start CMD in the background, output in $work/NAME.{out,err}
  local name=$1
  shift
  "$@" >"$work/$name.out" 2>"$work/$name.err" &
  stack_pids+=($!)
}

stack_kms() {
  "$confide" enclave init-root >/dev/null || return 1
  cat >"$work/identities.toml" <<'IDS'
[[identity]]
access_key_id = "AKIADEMOADMIN0000001"
secret_access_key = "demo-admin-secret"
principal_arn = "arn:aws:iam::111122223333:role/admin"
[[identity]]
access_key_id = "AKIADEMOPARENT000001"
secret_access_key = "demo-parent-secret"
principal_arn = "arn:aws:iam::111122223333:role/parent"
[[identity]]
access_key_id = "AKIADEMOUSER00000001"
secret_access_key = "demo-user-secret"
principal_arn = "arn:aws:iam::111122223333:role/user"
IDS
  echo '{"AccessKeyId":"AKIADEMOADMIN0000001","SecretAccessKey":"demo-admin-secret"}' >"$work/admin.json"
  echo '{"AccessKeyId":"AKIADEMOPARENT000001","SecretAccessKey":"demo-parent-secret"}' >"$work/parent.json"
  # A user of the service (seed flows A and B), distinct from the operator of the parent.
  user_credentials='{"AccessKeyId":"AKIADEMOUSER00000001","SecretAccessKey":"demo-user-secret"}'
  mkdir -p "$work/kms"
  stack_bg kms "$confide" kms serve --listen 127.0.0.1:0 --data-dir "$work/kms" \
    --identities "$work/identities.toml" --trust-root "$CONFIDE_SIM_ROOT/root.pem" --allow-simulation-root
  stack_wait_for "$work/kms.out" "listening on" 10 || return 1
  kms_port=$(sed -n 's/.*listening on .*:\([0-9]*\)$/\1/p' "$work/kms.out")
  kms="http://127.0.0.1:$kms_port"
}

stack_image() {
  pcr0=$(bash "$stack_repo/scripts/build-enclave-image.sh" "$confide" "$enclave_bin" "$1" "$work" |
    tail -1) || return 1
  [ -n "$pcr0" ] || stack_fail "image build printed no PCR0"
}

stack_key() {
  cat >"$work/policy.json" <<POL
{"Version":"2012-10-17","Statement":[
 {"Sid":"Admin","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/admin"},"Action":"kms:*","Resource":"*"},
 {"Sid":"ParentMayEncrypt","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/parent"},"Action":["kms:Encrypt","kms:GenerateDataKey","kms:DescribeKey"],"Resource":"*"},
 {"Sid":"OnlyTheAttestedEnclaveDecrypts","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/parent"},"Action":"kms:Decrypt","Resource":"*",
  "Condition":{"StringEqualsIgnoreCase":{"kms:RecipientAttestation:PCR0":"$pcr0"}}}]}
POL
  key_id=$("$confide" kms call CreateKey --kms-endpoint "$kms" --credentials "$work/admin.json" \
    --json "$(jq -n --rawfile p "$work/policy.json" '{Description:"model key", Policy:$p}')" |
    jq -r .KeyMetadata.KeyId) || return 1
  [ -n "$key_id" ] && [ "$key_id" != null ] || stack_fail "CreateKey returned no KeyId"
}

stack_seal() {
  "$confide" model seal --kms-endpoint "$kms" --credentials "$work/parent.json" --key-id "$key_id" \
    --in "$1" --out "$work/model.sealed" >"$work/seal.out" 2>"$work/seal.err" ||
    stack_fail "model seal: $(cat "$work/seal.err")"
}

stack_enclave() {
  local cid=$1
  if [ ! -f "$work/vsock-proxy.yaml" ]; then
    printf 'allowlist:\n- {address: 127.0.0.1, port: %s}\n' "$kms_port" >"$work/vsock-proxy.yaml"
    stack_bg vsock-proxy "$confide" vsock-proxy --config "$work/vsock-proxy.yaml" 8000 127.0.0.1 "$kms_port"
    stack_bg provide "$confide" enclave provide --model "$work/model.sealed" \
      --credentials "$work/parent.json"
  fi
  "$confide" enclave run --image "$work/app.eif" --cpu-count 1 --memory 1024 --cid "$cid" \
    >"$work/enclave-$cid.json" 2>"$work/enclave-$cid.err" ||
    stack_fail "enclave run: $(cat "$work/enclave-$cid.err")"
}

stack_gateway() {
  local args=() cid
  for cid in "$@"; do args+=(--enclave "$cid:5000"); done
  "$confide" tls self-signed --out-dir "$work/tls" --host localhost --ip 127.0.0.1 >/dev/null ||
    return 1
  gateway_ca="$work/tls/cert.pem"
  # STACK_GATEWAY_WRAP (e.g. "strace -f -o FILE ...") runs the gateway under a wrapper.
  # shellcheck disable=SC2086
  stack_bg gateway ${STACK_GATEWAY_WRAP:-} "$confide" gateway --listen 127.0.0.1:0 "${args[@]}" \
    --tls-cert "$work/tls/cert.pem" --tls-key "$work/tls/key.pem" --health-interval 1
  stack_wait_for "$work/gateway.out" "listening on" 20 || return 1
  gateway_port=$(sed -n 's/.*listening on [^ ]*:\([0-9]*\).*/\1/p' "$work/gateway.out" | head -1)
  gateway="https://localhost:$gateway_port"
}

stack_wait_ready() {  # stack_wait_ready [SECONDS]
  local i
  for i in $(seq 1 $((${1:-60} * 10))); do
    curl -s --cacert "$gateway_ca" "$gateway/healthz" 2>/dev/null |
      jq -e '.enclaves_healthy >= 1' >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  stack_fail "no healthy enclave behind the gateway: $(tail -3 "$work/gateway.err" 2>/dev/null)"
}

stack_trust() {
  cat >"$work/trust.json" <<JSON
{"roots": ["$CONFIDE_SIM_ROOT/root.pem"], "allow_simulation_root": true,
 "image": "$work/app.describe.json", "max_document_age_seconds": 300}
JSON
}

stack_down() {
  local id p
  if [ -n "${confide:-}" ] && [ -n "${work:-}" ]; then
    for id in $("$confide" enclave describe 2>/dev/null | jq -r '.[].EnclaveID' 2>/dev/null); do
      "$confide" enclave terminate --enclave-id "$id" >/dev/null 2>&1
    done
  fi
  # Children first: a wrapper (strace) would detach and leave its child running.
  for p in "${stack_pids[@]}"; do pkill -TERM -P "$p" 2>/dev/null; kill "$p" 2>/dev/null; done
  for p in "${stack_pids[@]}"; do wait "$p" 2>/dev/null; done
  if [ -n "${work:-}" ] && [ -z "${STACK_KEEP:-}" ]; then rm -rf "$work"; fi
}
