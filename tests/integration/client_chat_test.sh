#!/usr/bin/env bash
# `confide chat` against a stand-in gateway+enclave (client_peer_gateway: real OHTTP, real
# emulated attestation): streamed and non-streamed answers, the simulation banner, history kept
# in interactive mode, and exit 1 naming the failed check for a wrong PCR.
# Usage: client_chat_test.sh CONFIDE_BINARY CLIENT_PEER_GATEWAY_BINARY
set -euo pipefail
CONFIDE=$1
PEER=$2
T=$(mktemp -d)
PEER_PID=""
cleanup() { if [ -n "$PEER_PID" ]; then kill "$PEER_PID" 2>/dev/null || true; wait "$PEER_PID" 2>/dev/null || true; fi; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$PEER" "$T" > "$T/peer.out" 2> "$T/peer.err" &
PEER_PID=$!
for _ in $(seq 1 100); do grep -q "^PORT" "$T/peer.out" 2>/dev/null && break; sleep 0.1; done
PORT=$(sed -n 's/^PORT \([0-9]*\)$/\1/p' "$T/peer.out")
[ -n "$PORT" ] || fail "peer did not start: $(cat "$T/peer.err")"
GW="http://127.0.0.1:$PORT"

# 1. One streamed prompt: tokens on stdout, the verified enclave on stderr.
"$CONFIDE" chat --gateway "$GW" --trust "$T/trust.json" -p "hello" > "$T/out" 2> "$T/err" ||
  fail "chat failed: $(cat "$T/err")"
grep -q "^tok0 tok1 tok2 $" "$T/out" || fail "streamed answer: $(cat "$T/out")"
grep -q "verified enclave i-0test-enc0001" "$T/err" || fail "no enclave line: $(cat "$T/err")"
grep -q "SIMULATION" "$T/err" || fail "no simulation banner"
grep -q "PCR0 [0-9a-f]\{16\}" "$T/err" || fail "no PCR0"

# 2. Non-streamed, and raw JSON.
"$CONFIDE" chat --gateway "$GW" --trust "$T/trust.json" -p "hello" --no-stream > "$T/out" 2>/dev/null
grep -q "^echo(1): hello$" "$T/out" || fail "non-streamed answer: $(cat "$T/out")"
"$CONFIDE" chat --gateway "$GW" --trust "$T/trust.json" -p "x" --no-stream --json --model m \
  --max-tokens 5 --temperature 0.2 > "$T/out" 2>/dev/null
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["object"]=="chat.completion"' "$T/out" ||
  fail "--json: $(cat "$T/out")"

# 3. Interactive: the history is kept (the peer echoes how many messages it received).
printf 'first\nsecond\n' | "$CONFIDE" chat --gateway "$GW" --trust "$T/trust.json" --no-stream > "$T/out" 2>/dev/null
grep -q "^echo(1): first$" "$T/out" || fail "turn 1: $(cat "$T/out")"
grep -q "^echo(3): second$" "$T/out" || fail "turn 2 without history: $(cat "$T/out")"

# 4. A wrong PCR: exit 1, the check named, nothing sent.
set +e
"$CONFIDE" chat --gateway "$GW" --trust "$T/trust_wrong_pcr.json" -p "secret" > "$T/out" 2> "$T/err"
rc=$?
set -e
[ "$rc" = 1 ] || fail "wrong PCR exited $rc"
grep -q "attestation: PCRs: PCR0 does not match" "$T/err" || fail "wrong PCR message: $(cat "$T/err")"
[ ! -s "$T/out" ] || fail "output despite a failed check"

# 5. The proxy refuses a non-loopback listen address.
set +e
"$CONFIDE" proxy --gateway "$GW" --trust "$T/trust.json" --listen 0.0.0.0:0 2> "$T/err"
rc=$?
set -e
[ "$rc" = 2 ] && grep -q "allow-remote" "$T/err" || fail "non-loopback listen: rc $rc $(cat "$T/err")"
echo "PASS: confide chat"
