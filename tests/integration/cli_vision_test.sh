#!/usr/bin/env bash
# `confide vision detect` from the outside: the three models on the shared images, --json,
# --out (a JPEG of the same size), refusals and exit codes.
# Usage: cli_vision_test.sh CONFIDE_BINARY SHARED_DIR
set -uo pipefail
confide=$1
shared=$2
models=$shared/models/vision
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

check "usage: vision without subcommand" 2 "$confide" vision
check "usage: detect without --image" 2 "$confide" vision detect
check "usage: unknown model" 2 "$confide" vision detect --model yolov9 --image x.jpg
check "no models" 1 "$confide" vision detect --models-dir "$work" --image x.jpg
contains "no models message" "$work/err" "no requested model found"
if [ -f "$models/yolo-fastest/yolo-fastest-1.1-xl.weights" ]; then
  check "dog" 0 "$confide" vision detect --models-dir "$models" --image "$models/images/dog.jpg" \
    --out "$work/boxed.jpg" --threads 1
  contains "dog: count" "$work/out" "768 x 576, 3 detection(s)"
  contains "dog: dog" "$work/out" "dog            0.958"
  contains "dog: wrote" "$work/out" "wrote $work/boxed.jpg"
  check "boxed image is a JPEG of the same size" 0 "$confide" vision detect \
    --models-dir "$models" --image "$work/boxed.jpg" --json
  contains "boxed size" "$work/out" '"width": 768'
  check "faces --json" 0 "$confide" vision detect --model ultraface-rfb-320 \
    --models-dir "$models" --image "$models/images/faces_two.jpg" --json
  contains "faces label" "$work/out" '"label": "face"'
  contains "faces model" "$work/out" '"model": "ultraface-rfb-320"'
  check "small model" 0 "$confide" vision detect --model yolo-fastest-1.1 \
    --models-dir "$models" --image "$models/images/person.jpg"
  contains "small model person" "$work/out" "person"
  printf 'GIF89a-not-supported' >"$work/x.gif"
  check "gif refused" 1 "$confide" vision detect --models-dir "$models" --image "$work/x.gif"
  contains "gif message" "$work/err" "only JPEG and PNG"
  head -c 5000 "$models/images/dog.jpg" >"$work/trunc.jpg"
  check "truncated refused" 1 "$confide" vision detect --models-dir "$models" --image "$work/trunc.jpg"
  contains "truncated message" "$work/err" "truncated"
else
  echo "SKIP: $models absent"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
