#!/usr/bin/env bash
# Loads the same no-op endpoint on cpp-httplib and on Boost.Beast with wrk (32 keep-alive
# connections, POST with a 256-byte body, like KMS calls) in one run, and prints requests/s of
# each and their ratio. Needs the release build (make release) and wrk (apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/release/bench/http_stack_compare
secs=${SECONDS_PER_RUN:-8}
# Each stack in its best configuration on 2 cores: cpp-httplib serves a keep-alive connection
# per pool thread, so it needs a thread per client; Beast is asynchronous, one thread per core.
declare -A threads=([httplib]=${HTTPLIB_THREADS:-64} [beast]=${BEAST_THREADS:-2})
command -v wrk >/dev/null || { echo "wrk not installed (apt-get install wrk)"; exit 1; }
lua=$(mktemp)
trap 'rm -f "$lua"; kill $(jobs -p) 2>/dev/null || true' EXIT
cat >"$lua" <<'LUA'
wrk.method = "POST"
wrk.body = string.rep("x", 256)
wrk.headers["Content-Type"] = "application/x-amz-json-1.1"
wrk.headers["X-Amz-Target"] = "TrentService.Decrypt"
LUA
declare -A rps
port=18700
for stack in httplib beast; do
  port=$((port + 1))
  "$bin" "$stack" "$port" "${threads[$stack]}" >/dev/null &
  pid=$!
  sleep 0.5
  out=$(wrk -t2 -c32 -d"${secs}s" -s "$lua" "http://127.0.0.1:$port/")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rps[$stack]=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  echo "$stack (${threads[$stack]} threads): ${rps[$stack]} requests/s ($(echo "$out" | awk '/Latency/ {print "latency avg " $2}'))"
done
awk -v a="${rps[beast]}" -v b="${rps[httplib]}" 'BEGIN { printf "beast / httplib = %.2f\n", a / b }'
