#!/usr/bin/env bash
# `confide enclave build|describe-image` from the outside: reproducible bytes and PCRs across
# directories, working directories and mtimes; the real confide binary as the runtime; clear
# errors and no output file on failure. Usage: cli_enclave_image_test.sh CONFIDE_BINARY
set -uo pipefail
confide=$(realpath "$1")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0
fail=0
check() {  # check NAME WANT_EXIT CMD...
  local name=$1 want=$2
  shift 2
  "$@" >"$work/out" 2>"$work/err"
  local got=$?
  if [ "$got" -eq "$want" ]; then pass=$((pass + 1)); else
    fail=$((fail + 1)); echo "FAIL: $name: exit $got, want $want"; cat "$work/err"; fi
}
contains() {  # contains NAME FILE TEXT
  if grep -qF -- "$3" "$2"; then pass=$((pass + 1)); else
    fail=$((fail + 1)); echo "FAIL: $1: '$3' not in $(cat "$2")"; fi
}
absent() {  # absent NAME PATH
  if [ -e "$2" ]; then fail=$((fail + 1)); echo "FAIL: $1: $2 exists"; else pass=$((pass + 1)); fi
}

setup() {  # setup DIR MTIME
  mkdir -p "$1/bin" "$1/app"
  cp "$confide" "$1/bin/confide-enclave"
  echo '{"listen_port": 5000}' >"$1/app/config.json"
  cat >"$1/enclave.toml" <<'TOML'
name = "demo"
[runtime]
files = ["bin/confide-enclave"]
[application]
files = ["app/config.json"]
model_sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
TOML
  touch -d "$2" "$1/bin/confide-enclave" "$1/app/config.json" "$1/enclave.toml"
}

setup "$work/a" "2001-01-01"
setup "$work/b" "2024-06-30 12:34:56"
chmod 0700 "$work/b/bin/confide-enclave"
check "build a" 0 "$confide" enclave build --manifest "$work/a/enclave.toml" --output "$work/a.eif"
cp "$work/out" "$work/build-a.json"
contains "build prints PCR0" "$work/build-a.json" '"PCR0"'
(cd "$work/b" && "$confide" enclave build --manifest enclave.toml --output ../b.eif >"$work/build-b.json")
check "same bytes from another dir, cwd and mtimes" 0 cmp "$work/a.eif" "$work/b.eif"
check "same build output" 0 cmp <(grep PCR "$work/build-a.json") <(grep PCR "$work/build-b.json")

check "describe-image" 0 "$confide" enclave describe-image "$work/a.eif"
cp "$work/out" "$work/describe.json"
for field in '"EifVersion": 1' '"HashAlgorithm": "Sha384 { ... }"' '"PCR1"' '"PCR2"' \
             '"IsSigned": false' '"ImageName": "demo"' '"confide-enclave"'; do
  contains "describe has $field" "$work/describe.json" "$field"
done
pcr0=$(grep -o '"PCR0": "[0-9a-f]*"' "$work/build-a.json")
contains "describe PCR0 matches build" "$work/describe.json" "$pcr0"

# Failures: clear message, exit 1, no output file.
rm "$work/b/app/config.json"
check "missing file" 1 "$confide" enclave build --manifest "$work/b/enclave.toml" --output "$work/c.eif"
contains "missing file named" "$work/err" "app/config.json"
absent "no output after missing file" "$work/c.eif"
printf 'name = "x"\n[runtime]\nfiles = ["a"\n' >"$work/bad.toml"
check "bad manifest" 1 "$confide" enclave build --manifest "$work/bad.toml" --output "$work/c.eif"
contains "bad manifest line" "$work/err" "line 4"
absent "no output after bad manifest" "$work/c.eif"
check "no manifest" 2 "$confide" enclave build --output "$work/c.eif"
head -c 100 "$work/a.eif" >"$work/trunc.eif"
check "truncated image" 1 "$confide" enclave describe-image "$work/trunc.eif"
contains "truncated image message" "$work/err" "image:"

echo "cli_enclave_image: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
