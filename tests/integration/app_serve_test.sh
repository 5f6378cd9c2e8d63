#!/usr/bin/env bash
# confide-enclave serve end to end, in the process sandbox, through the real gateway: the
# enclave fetches its sealed model from the parent, gets the data key from the KMS only with its
# attestation, and answers sealed chat requests (streamed and not); the parent cannot decrypt the
# model; the gateway's and the parent's logs hold no prompt or answer.
# Usage: app_serve_test.sh BUILD_DIR   (prints SKIP and exits 0 without the shared model)
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../../scripts/lib/stack.sh
source "$repo/scripts/lib/stack.sh"
stack_init "$1"
trap stack_down EXIT
fail() { echo "FAIL: $*" >&2; for f in "$work"/enclave-*.err "$work"/provide.err "$work"/gateway.err; do [ -f "$f" ] && tail -5 "$f" >&2; done; exit 1; }
model="$shared/models/stories260K.gguf"
if [ ! -f "$model" ]; then echo "SKIP: no $model"; exit 0; fi
for tool in jq curl; do
  command -v $tool >/dev/null || { echo "SKIP: $tool not installed"; exit 0; }
done

stack_kms || fail "kms"
stack_image "$model" || fail "image"
stack_key || fail "key"
stack_seal "$model" || fail "seal"
stack_enclave 16 || fail "enclave"
stack_gateway 16 || fail "gateway"
stack_wait_ready 120 || fail "the enclave never became healthy"
stack_trust

prompt="Once upon a time, a little robot"
# 1. Streamed answer.
"$confide" chat --gateway "$gateway" --ca "$gateway_ca" --trust "$work/trust.json" \
  --max-tokens 24 --temperature 0 -p "$prompt" >"$work/chat1.out" 2>"$work/chat1.err" ||
  fail "streamed chat: $(cat "$work/chat1.err")"
[ -s "$work/chat1.out" ] || fail "empty streamed answer"
# 2. Non-streamed, raw JSON: usage and the served model name; greedy gives the same text.
"$confide" chat --gateway "$gateway" --ca "$gateway_ca" --trust "$work/trust.json" \
  --max-tokens 24 --temperature 0 --no-stream --json -p "$prompt" >"$work/chat2.out" \
  2>"$work/chat2.err" || fail "non-streamed chat: $(cat "$work/chat2.err")"
jq -e '.usage.completion_tokens > 0 and .model == "stories260K"' "$work/chat2.out" >/dev/null ||
  fail "non-streamed answer: $(cat "$work/chat2.out")"
answer=$(jq -r '.choices[0].message.content' "$work/chat2.out")
grep -qF "$(echo "$answer" | head -c 20)" "$work/chat1.out" ||
  fail "streamed and non-streamed greedy answers differ"
# 3. Nothing of the prompt or answer in the parent's logs.
for f in "$work"/*.out "$work"/*.err; do
  case "$f" in */chat*) continue ;; esac
  if grep -qF "little robot" "$f"; then fail "the prompt appears in $f"; fi
done
# 4. The parent cannot decrypt the sealed model itself.
if "$confide" decrypt --kms-endpoint "$kms" --credentials "$work/parent.json" \
  --in "$work/model.sealed" --out "$work/stolen.gguf" 2>"$work/denied.err"; then
  fail "the parent decrypted the model"
fi
echo "PASS"
