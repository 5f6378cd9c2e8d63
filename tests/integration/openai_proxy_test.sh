#!/usr/bin/env bash
# The official `openai` npm client (chat.completions.create, non-streaming and streaming)
# against `confide proxy` in front of a gateway. With GATEWAY_URL and TRUST_FILE (and optionally
# CA_FILE, EXPECT_TEXT) the proxy fronts that gateway (the real gateway + enclave); otherwise the
# stand-in client_peer_gateway is started and its canned answers are checked.
# Usage: openai_proxy_test.sh CONFIDE_BINARY [CLIENT_PEER_GATEWAY_BINARY]
#        GATEWAY_URL=https://... TRUST_FILE=trust.json openai_proxy_test.sh CONFIDE_BINARY
set -euo pipefail
CONFIDE=$1
PEER=${2:-}
peers="$(cd "$(dirname "$0")/../peers" && pwd)"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "SKIP: node/npm not found; the openai client test did not run"; exit 0
fi
if [ ! -d "$peers/node_modules/openai" ]; then
  bash "$peers/install.sh" openai ||
    { echo "SKIP: could not install the pinned npm peers"; exit 0; }
fi
T=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

EXTRA=()
if [ -n "${GATEWAY_URL:-}" ]; then
  GW=$GATEWAY_URL
  TRUST=${TRUST_FILE:?TRUST_FILE is required with GATEWAY_URL}
  [ -n "${CA_FILE:-}" ] && EXTRA=(--ca "$CA_FILE")
  EXPECT=${EXPECT_TEXT:-}
else
  [ -n "$PEER" ] || { echo "SKIP: no GATEWAY_URL and no stand-in peer"; exit 0; }
  "$PEER" "$T" > "$T/peer.out" 2> "$T/peer.err" &
  PIDS+=($!)
  for _ in $(seq 1 100); do grep -q "^PORT" "$T/peer.out" 2>/dev/null && break; sleep 0.1; done
  PORT=$(sed -n 's/^PORT \([0-9]*\)$/\1/p' "$T/peer.out")
  [ -n "$PORT" ] || fail "peer did not start: $(cat "$T/peer.err")"
  GW="http://127.0.0.1:$PORT"
  TRUST="$T/trust.json"
  EXPECT="canned"
fi

"$CONFIDE" proxy --listen 127.0.0.1:0 --gateway "$GW" --trust "$TRUST" "${EXTRA[@]}" \
  > "$T/proxy.out" 2> "$T/proxy.err" &
PIDS+=($!)
for _ in $(seq 1 100); do grep -q "listening on" "$T/proxy.out" 2>/dev/null && break; sleep 0.1; done
URL=$(sed -n 's/^proxy listening on \(http:[^ ]*\).*/\1/p' "$T/proxy.out")
[ -n "$URL" ] || fail "proxy did not start: $(cat "$T/proxy.err")"
node "$peers/openai_proxy.mjs" "$URL/v1" "$EXPECT"
if [ -z "${GATEWAY_URL:-}" ]; then
  # A verification failure reaches the openai client as an APIError 502 naming the check.
  "$CONFIDE" proxy --listen 127.0.0.1:0 --gateway "$GW" --trust "$T/trust_wrong_pcr.json" \
    > "$T/proxy2.out" 2> "$T/proxy2.err" &
  PIDS+=($!)
  for _ in $(seq 1 100); do grep -q "listening on" "$T/proxy2.out" 2>/dev/null && break; sleep 0.1; done
  URL2=$(sed -n 's/^proxy listening on \(http:[^ ]*\).*/\1/p' "$T/proxy2.out")
  node "$peers/openai_proxy.mjs" "$URL2/v1" "refused"
fi
echo "PASS: openai client through confide proxy"
