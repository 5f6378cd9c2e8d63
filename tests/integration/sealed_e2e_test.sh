#!/usr/bin/env bash
# The whole sealed path with real processes (scripts/lib/stack.sh): KMS, a measured image whose
# PCR0 a key policy requires, a sealed model fetched and decrypted by the enclave through
# vsock-proxy, the gateway (TLS), and the clients:
#   - `confide chat` streaming and not (same answer at temperature 0), the verified PCR0 shown;
#   - `confide proxy` with curl and with the official openai npm client;
#   - an OHTTP request encapsulated by @hpke/core (independent HPKE) accepted by gateway+enclave;
#   - fail-closed: a wrong PCR0 in the trust policy, a simulation root not allowed, another
#     root: each refused naming the failed check, nothing sent;
#   - canaries: unique strings planted in prompts and in the model's answers (the guardrail
#     endpoint returns the prompt's text) never appear in any parent-side file, log, metric,
#     error message or in the bytes the gateway reads and writes (captured with strace);
#   - the parent's own decrypt of the sealed model's data key is AccessDeniedException.
# Usage: sealed_e2e_test.sh BUILD_DIR
# Exit 77 (ctest SKIP) where the sandbox's namespaces cannot be created or the model is absent.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../scripts/lib/stack.sh
source "$here/../../scripts/lib/stack.sh"
stack_init "$1"
client=$(mktemp -d)  # the client side: may hold plaintext
trap 'stack_down; rm -rf "$client"' EXIT
if ! unshare --user --map-root-user --mount --pid --net --ipc --uts --fork true 2>/dev/null; then
  echo "SKIP: user/mount/pid/net namespaces are unavailable here (the enclave sandbox needs them)"
  exit 77
fi
model="$shared/models/stories260K.gguf"
[ -f "$model" ] || { echo "SKIP: $model not found"; exit 77; }
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
die() { echo "FAIL: $*"; for f in "$work"/*.err; do echo "--- $f"; tail -5 "$f"; done; exit 1; }

capture=""
if strace -f -o /dev/null true 2>/dev/null; then
  capture="$work/gateway.strace"
  export STACK_GATEWAY_WRAP="strace -f -qq -xx -s 1048576 -e trace=read,write,readv,writev,recvfrom,sendto,recvmsg,sendmsg -o $capture"
else
  echo "NOTE: strace cannot trace here; the gateway's byte streams are not captured"
fi

stack_kms || die "kms"
stack_image "$model" || die "image"
stack_key || die "key"
stack_seal "$model" || die "seal"
stack_enclave 16 || die "enclave"
stack_gateway 16 || die "gateway"
stack_wait_ready 120 || die "the enclave did not become ready"
stack_trust
ok "stack up: KMS, image (PCR0 ${pcr0:0:12}...), sealed model, enclave 16, gateway $gateway"

canary="CANARY$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
answer_canary="ANSWER$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
chat() { "$confide" chat --gateway "$gateway" --ca "$gateway_ca" "$@"; }

# --- chat, streamed and not ---------------------------------------------------------------
prompt="Tim met $canary in the park. One day"
if chat --trust "$work/trust.json" --max-tokens 24 --temperature 0 -p "$prompt" \
  >"$client/stream.txt" 2>"$client/stream.err"; then
  if [ -s "$client/stream.txt" ]; then ok "chat (streamed) answered: $(head -c 80 "$client/stream.txt")"; else
    bad "chat (streamed) printed no answer"; fi
  if grep -q "${pcr0:0:16}" "$client/stream.err"; then ok "chat shows the verified PCR0"; else
    bad "chat did not show the verified PCR0: $(cat "$client/stream.err")"; fi
else
  bad "chat (streamed) failed: $(cat "$client/stream.err")"
fi
if chat --trust "$work/trust.json" --max-tokens 24 --temperature 0 --no-stream -p "$prompt" \
  >"$client/whole.txt" 2>"$client/whole.err"; then
  if cmp -s "$client/stream.txt" "$client/whole.txt"; then ok "streamed and whole answers are identical at temperature 0"; else
    bad "streamed and whole answers differ: '$(cat "$client/stream.txt")' vs '$(cat "$client/whole.txt")'"; fi
else
  bad "chat --no-stream failed: $(cat "$client/whole.err")"
fi

# --- the local proxy: curl, guardrails (the answer carries a canary), openai npm ------------
"$confide" proxy --listen 127.0.0.1:0 --gateway "$gateway" --ca "$gateway_ca" --trust "$work/trust.json" \
  >"$client/proxy.out" 2>"$client/proxy.err" &
proxy_pid=$!
stack_pids+=("$proxy_pid")
for _ in $(seq 1 100); do grep -q "listening on" "$client/proxy.out" 2>/dev/null && break; sleep 0.1; done
proxy_url=$(sed -n 's/^proxy listening on \(http:[^ ]*\).*/\1/p' "$client/proxy.out")
if [ -n "$proxy_url" ]; then
  body=$(jq -n --arg t "Write to $answer_canary@example.com about $canary" \
    '{source:"INPUT", content:[{text:{text:$t}}]}')
  curl -s -X POST -H 'content-type: application/json' -d "$body" "$proxy_url/v1/guardrails/apply" \
    >"$client/guard.json"
  if jq -e --arg c "$canary" '.outputs[0].text | contains($c) and contains("{EMAIL}")' \
    "$client/guard.json" >/dev/null 2>&1; then
    ok "guardrail applied inside the enclave (e-mail masked, text returned sealed)"
  else
    bad "guardrails/apply through the proxy: $(head -c 300 "$client/guard.json")"
  fi
  curl -s "$proxy_url/v1/models" >"$client/models.json"
  if jq -e '.data[0].id' "$client/models.json" >/dev/null 2>&1; then ok "GET /v1/models through the proxy"; else
    bad "models: $(head -c 200 "$client/models.json")"; fi
  if command -v node >/dev/null; then
    if GATEWAY_URL=$gateway TRUST_FILE=$work/trust.json CA_FILE=$gateway_ca \
      bash "$here/openai_proxy_test.sh" "$confide" >"$client/openai.out" 2>&1; then
      ok "the official openai npm client through confide proxy: $(tail -1 "$client/openai.out")"
    else
      bad "openai npm client: $(tail -5 "$client/openai.out")"
    fi
  fi
else
  bad "confide proxy did not start: $(cat "$client/proxy.err")"
fi

# --- @hpke/core against the real gateway and enclave -----------------------------------------
peers="$here/../peers"
if command -v node >/dev/null && bash "$peers/install.sh" @hpke/core >/dev/null 2>&1; then
  if node "$peers/gateway_hpke.mjs" "$gateway" "$gateway_ca" >"$client/hpke.out" 2>&1; then
    ok "@hpke/core-encapsulated requests accepted and answered: $(tail -1 "$client/hpke.out")"
  else
    bad "@hpke/core peer: $(cat "$client/hpke.out")"
  fi
else
  echo "NOTE: node or @hpke/core missing; the independent-HPKE request did not run"
fi

# --- fail closed ------------------------------------------------------------------------------
refused() {  # refused NAME TRUST_JSON WANT_TEXT
  echo "$2" >"$client/trust-$1.json"
  if chat --trust "$client/trust-$1.json" --max-tokens 4 -p "$canary" >"$client/r.out" 2>"$client/r.err"; then
    bad "$1: accepted"
  elif grep -i -- "^error" "$client/r.err" | grep -qi -- "$3"; then
    ok "$1: refused ($(grep -i -m1 -- "^error" "$client/r.err"))"
  else
    bad "$1: refused without naming '$3': $(cat "$client/r.err")"
  fi
}
zeros=$(printf '0%.0s' $(seq 1 96))
refused wrong-pcr0 "{\"roots\":[\"$CONFIDE_SIM_ROOT/root.pem\"],\"allow_simulation_root\":true,\"pcrs\":{\"0\":\"$zeros\"}}" "PCR0"
refused sim-root-not-allowed "{\"roots\":[\"$CONFIDE_SIM_ROOT/root.pem\"],\"image\":\"$work/app.describe.json\"}" "simulation"
"$confide" attest sim-ca --dir "$client/other-ca" >/dev/null
refused other-root "{\"roots\":[\"$client/other-ca/root.pem\"],\"allow_simulation_root\":true,\"image\":\"$work/app.describe.json\"}" "root\|chain\|signature\|certificate"

# --- the parent cannot decrypt the model --------------------------------------------------------
if "$confide" decrypt --kms-endpoint "$kms" --credentials "$work/parent.json" --in "$work/model.sealed" \
  --out "$client/stolen.gguf" 2>"$client/denied.err"; then
  bad "the parent decrypted the sealed model"
elif grep -q AccessDeniedException "$client/denied.err"; then
  ok "the parent's decrypt of the model's data key: AccessDeniedException"
else
  bad "parent decrypt failed for another reason: $(cat "$client/denied.err")"
fi

# --- canaries ---------------------------------------------------------------------------------
curl -s --cacert "$gateway_ca" "$gateway/metrics" >"$work/metrics.txt"
if grep -q '^confide_' "$work/metrics.txt"; then ok "metrics served"; else bad "no metrics: $(head -3 "$work/metrics.txt")"; fi
stack_down_gateway_first() { pkill -TERM -f "$confide gateway" 2>/dev/null; sleep 0.5; }
stack_down_gateway_first  # flush the capture
for c in "$canary" "$answer_canary"; do
  leaks=$(grep -rlaF -- "$c" "$work" 2>/dev/null)
  if [ -z "$leaks" ]; then ok "canary ${c:0:12}... in no parent-side file, log, metric or error"; else
    bad "canary ${c:0:12}... found in: $leaks"; fi
  if [ -n "$capture" ]; then
    hexed=$(printf '%s' "$c" | od -An -v -tx1 | tr -d ' \n' | sed 's/../\\x&/g')
    if grep -qF -- "$hexed" "$capture"; then bad "canary ${c:0:12}... in the gateway's captured bytes"; else
      ok "canary ${c:0:12}... not in the gateway's $(wc -c <"$capture") captured bytes of I/O"; fi
  fi
done
if [ -n "$capture" ]; then
  # Positive control: the capture does hold the gateway's traffic (the vsock HTTP it forwards).
  marker=$(printf '%s' "message/ohttp" | od -An -v -tx1 | tr -d ' \n' | sed 's/../\\x&/g')
  if grep -qF -- "$marker" "$capture"; then ok "the capture holds the forwarded OHTTP traffic"; else
    bad "the capture holds no OHTTP traffic: the canary check above proves nothing"; fi
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
