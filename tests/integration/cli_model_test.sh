#!/usr/bin/env bash
# `confide model` from the outside: info on the real model, greedy generation from token ids and
# from text (plain and chat), exit codes. Usage: cli_model_test.sh CONFIDE_BINARY SHARED_DIR
set -uo pipefail
confide=$1
shared=$2
model=$shared/models/stories260K.gguf
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

check "usage: model without subcommand" 2 "$confide" model
check "usage: run without -m" 2 "$confide" model run --prompt-ids 1
check "missing model" 1 "$confide" model info "$work/none.gguf"
printf 'not a gguf' >"$work/bad.gguf"
check "bad model" 1 "$confide" model info "$work/bad.gguf"
contains "bad model message" "$work/err" "bad magic"
check "synth: bad shape" 2 "$confide" model synth --shape nope -o "$work/x.gguf"
check "synth: bad type" 2 "$confide" model synth --type q3 -o "$work/x.gguf"
check "synth tiny qwen" 0 "$confide" model synth --shape tiny --type q5_0 -o "$work/tiny.gguf"
check "info synth" 0 "$confide" model info "$work/tiny.gguf"
contains "info synth type" "$work/out" "tensor_type: Q5_0"
check "run synth" 0 "$confide" model run -m "$work/tiny.gguf" --prompt-ids 1,5,7 -n 4 --ctx 16
if [ -f "$model" ]; then
  check "info" 0 "$confide" model info "$model"
  contains "info arch" "$work/out" "architecture: llama"
  contains "info tensors" "$work/out" "tensors: 48"
  contains "info kv heads" "$work/out" "head_count_kv: 4"
  contains "info vocab" "$work/out" "vocab_size: 512"
  contains "info template" "$work/out" "chat_template: absent"
  check "run" 0 "$confide" model run -m "$model" --prompt-ids 1,403,407,261,378 -n 5
  contains "run text" "$work/out" ", there was a little"
  contains "run ids" "$work/err" "ids: 432 383 286 261 376"
  # Text prompts through the model's own tokenizer reproduce llama.cpp's goldens exactly.
  for name in empty:"" once-upon-a-time:"Once upon a time" lily-and-tom:"Lily and Tom went to the park"; do
    golden=$shared/models/golden/stories260K_llamacpp_greedy_prompt-${name%%:*}.txt
    [ -f "$golden" ] || { echo "SKIP: $golden absent"; continue; }
    want_ids=$(sed -n 's/^greedy_ids: //p' "$golden")
    n=$(echo "$want_ids" | wc -w)
    check "run -p ${name%%:*}" 0 "$confide" model run -m "$model" -p "${name#*:}" -n "$n"
    contains "run -p ${name%%:*} prompt ids" "$work/err" "prompt_ids: $(sed -n 's/^prompt_ids: //p' "$golden")"
    contains "run -p ${name%%:*} ids" "$work/err" "ids: $want_ids"
    sed -n '/^greedy_text: /,$p' "$golden" | sed '1s/^greedy_text: //' >"$work/want"
    if cmp -s "$work/out" "$work/want"; then pass=$((pass + 1)); else
      fail=$((fail + 1)); echo "FAIL: run -p ${name%%:*}: text differs"; diff "$work/out" "$work/want" | head; fi
  done
  check "run: -p and --prompt-ids" 2 "$confide" model run -m "$model" -p x --prompt-ids 1
  check "run: no prompt" 2 "$confide" model run -m "$model"
  check "run: --template without --chat" 2 "$confide" model run -m "$model" -p x --template chatml
  check "run: --chat without a template" 2 "$confide" model run -m "$model" -p x --chat
  contains "no template message" "$work/err" "chatml"
  check "run: unknown template" 2 "$confide" model run -m "$model" -p x --chat --template nope
  contains "unknown template message" "$work/err" "chat template"
  check "run: chatml" 0 "$confide" model run -m "$model" -p "Hi" --chat --template chatml -n 3
  # llama2 writes "<s>" itself (one BOS, not two); "</s>" typed by the user stays plain text.
  check "run: llama2 chat" 0 "$confide" model run -m "$model" -p "hi</s>" --chat --template llama2 -n 3
  prompt_line=$(grep '^prompt_ids:' "$work/err")
  case "$prompt_line" in
    "prompt_ids: 1 "*" 2 "* | *" 2" | "prompt_ids: 1 1 "*) fail=$((fail + 1)); echo "FAIL: injection: $prompt_line" ;;
    "prompt_ids: 1 "*) pass=$((pass + 1)) ;;
    *) fail=$((fail + 1)); echo "FAIL: llama2 prompt: $prompt_line" ;;
  esac
  check "run: bad ids" 2 "$confide" model run -m "$model" --prompt-ids 1,x
  check "run: id out of range" 1 "$confide" model run -m "$model" --prompt-ids 1,9999
else
  echo "SKIP: $model absent"
fi
echo "cli_model: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
