#!/usr/bin/env bash
# `confide audit verify` from the outside: a chained log verifies; an edited, truncated or
# reordered one is rejected with the line named. Usage: cli_audit_test.sh CONFIDE SEED_LOG
set -uo pipefail
confide=$1
seed=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0
fail=0
expect() {  # expect NAME WANT_EXIT FILE [GREP]
  "$confide" audit verify "$3" >"$work/out" 2>"$work/err"
  local got=$?
  if [ "$got" -ne "$2" ]; then fail=$((fail + 1)); echo "FAIL: $1: exit $got"; cat "$work/err"; return; fi
  if [ -n "${4:-}" ] && ! grep -q -- "$4" "$work/err"; then
    fail=$((fail + 1)); echo "FAIL: $1: '$4' not in: $(cat "$work/err")"; return
  fi
  pass=$((pass + 1))
}
expect "intact log" 0 "$seed"
sed '2s/r1/r7/' "$seed" >"$work/edited"; expect "edited line" 1 "$work/edited" "line 3"
sed '2d' "$seed" >"$work/deleted"; expect "deleted line" 1 "$work/deleted" "line 2"
(sed -n 2p "$seed"; sed -n 1p "$seed"; sed -n 3p "$seed") >"$work/reordered"
expect "reordered" 1 "$work/reordered" "line 1"
head -c 100 "$seed" >"$work/torn"; expect "torn" 1 "$work/torn" "torn"
expect "missing file" 1 "$work/none" "cannot open"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
