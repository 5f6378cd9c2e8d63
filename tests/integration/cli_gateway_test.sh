#!/usr/bin/env bash
# Drives `confide gateway` and `confide enclave provide` as processes on the vsock emulation
# (no enclave app: the pool stays empty): the ready lines, /healthz 503 and /metrics, usage
# errors, and a clean exit on SIGTERM. The full path through a real enclave is the demo's.
# Usage: cli_gateway_test.sh CONFIDE_BINARY
set -euo pipefail
CONFIDE=$1
if ! command -v curl >/dev/null 2>&1; then echo "SKIP: curl not installed"; exit 0; fi
T=$(mktemp -d /tmp/cgwi-XXXXXX)
GW_PID=""
PV_PID=""
cleanup() {
  for p in $GW_PID $PV_PID; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
wait_for() { for _ in $(seq 1 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; return 1; }

# Usage errors exit 2.
set +e
"$CONFIDE" gateway --listen 127.0.0.1:0 >/dev/null 2>&1; [ $? -eq 2 ] || fail "no --enclave: want 2"
"$CONFIDE" gateway --listen nope --enclave 16:5000 >/dev/null 2>&1; [ $? -eq 2 ] || fail "bad --listen"
"$CONFIDE" gateway --enclave 16 >/dev/null 2>&1; [ $? -eq 2 ] || fail "bad --enclave"
set -e

mkdir -p "$T/v"
"$CONFIDE" gateway --listen 127.0.0.1:0 --enclave 16:5000 --enclave 17:5000 --vsock-dir "$T/v" \
  --health-interval 1 >"$T/gw.out" 2>"$T/gw.err" &
GW_PID=$!
wait_for "$T/gw.out" "listening on" || fail "gateway did not start: $(cat "$T/gw.err")"
PORT=$(sed -n 's/.*listening on .*:\([0-9]*\)$/\1/p' "$T/gw.out")
[ -n "$PORT" ] || fail "no port in: $(cat "$T/gw.out")"
code=$(curl -s -o "$T/h.json" -w '%{http_code}' "http://127.0.0.1:$PORT/healthz")
[ "$code" = 503 ] || fail "healthz without enclaves: $code"
grep -q '"enclaves_healthy":0' "$T/h.json" || fail "healthz body: $(cat "$T/h.json")"
curl -sf "http://127.0.0.1:$PORT/metrics" >"$T/m.txt" || fail "metrics"
grep -q '^confide_gateway_enclave_healthy{cid="17"} 0$' "$T/m.txt" || fail "enclave gauge"
grep -q '^# TYPE confide_gateway_request_duration_seconds histogram$' "$T/m.txt" || fail "histogram"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: text/plain' \
  --data x "http://127.0.0.1:$PORT/v1/ohttp")
[ "$code" = 415 ] || fail "415 expected, got $code"
kill -TERM "$GW_PID"
wait "$GW_PID" || fail "gateway exit status $?"
GW_PID=""

# TLS: the same over HTTPS with a self-signed certificate (when the openssl tool exists).
if command -v openssl >/dev/null 2>&1; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$T/key.pem" -out "$T/cert.pem" >/dev/null 2>&1 || fail "openssl req"
  set +e
  "$CONFIDE" gateway --listen 127.0.0.1:0 --enclave 16:5000 --tls-cert "$T/cert.pem" \
    >/dev/null 2>&1; [ $? -eq 2 ] || fail "--tls-cert without --tls-key: want 2"
  set -e
  "$CONFIDE" gateway --listen 127.0.0.1:0 --enclave 16:5000 --vsock-dir "$T/v" \
    --tls-cert "$T/cert.pem" --tls-key "$T/key.pem" >"$T/tls.out" 2>"$T/tls.err" &
  GW_PID=$!
  wait_for "$T/tls.out" "listening on https://" || fail "TLS gateway: $(cat "$T/tls.err")"
  PORT=$(sed -n 's/.*listening on .*:\([0-9]*\)$/\1/p' "$T/tls.out")
  code=$(curl -s --cacert "$T/cert.pem" -o /dev/null -w '%{http_code}' \
    "https://127.0.0.1:$PORT/healthz")
  [ "$code" = 503 ] || fail "healthz over TLS: $code"
  kill -TERM "$GW_PID"
  wait "$GW_PID" || fail "TLS gateway exit status $?"
  GW_PID=""
fi

# Provisioning: bad credentials fail at start; good ones serve until SIGTERM.
head -c 100000 /dev/urandom >"$T/model.sealed"
echo '{"AccessKeyId":"A"}' >"$T/bad.json"
set +e
"$CONFIDE" enclave provide --model "$T/model.sealed" --credentials "$T/bad.json" --vsock-dir "$T/v" \
  >/dev/null 2>"$T/pv.err"; [ $? -eq 1 ] || fail "bad credentials: want 1"
set -e
echo '{"AccessKeyId":"A","SecretAccessKey":"s"}' >"$T/creds.json"
"$CONFIDE" enclave provide --model "$T/model.sealed" --credentials "$T/creds.json" \
  --vsock-dir "$T/v" --port 7001 >"$T/pv.out" 2>"$T/pv.err" &
PV_PID=$!
wait_for "$T/pv.out" "listening on vsock 3:7001" || fail "provide did not start: $(cat "$T/pv.err")"
[ -S "$T/v/3/7001" ] || fail "no emulated vsock listener"
kill -TERM "$PV_PID"
wait "$PV_PID" || fail "provide exit status $?"
PV_PID=""
echo "PASS"
