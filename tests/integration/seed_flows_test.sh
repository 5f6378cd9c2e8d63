#!/usr/bin/env bash
# The two AWS flows confide is modelled on, end to end with real processes
# (docs/walkthroughs/llm-chatbot.md, docs/walkthroughs/object-detection.md):
#   A. LLM chatbot (Leidos post): the client encrypts its question with a KMS key and sends the
#      ciphertext plus its credentials to the gateway's compat endpoint; the enclave decrypts it
#      with KMS using its attestation, answers with the model and encrypts the answer with KMS;
#      the client decrypts it. The parent cannot decrypt the question.
#   B. Object detection over an encrypted image: `confide encrypt` a photo; the enclave unwraps
#      the data key through KMS with its attestation, detects, and returns detections sealed
#      (OHTTP, through `confide proxy`); `aws kms decrypt` of the image's data key with the
#      parent's credentials is AccessDeniedException.
# Usage: seed_flows_test.sh BUILD_DIR
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../scripts/lib/stack.sh
source "$here/../../scripts/lib/stack.sh"
stack_init "$1"
client=$(mktemp -d)
trap 'stack_down; rm -rf "$client"' EXIT
if ! unshare --user --map-root-user --mount --pid --net --ipc --uts --fork true 2>/dev/null; then
  echo "SKIP: user/mount/pid/net namespaces are unavailable here (the enclave sandbox needs them)"
  exit 77
fi
model="$shared/models/stories260K.gguf"
images="$shared/models/vision/images"
[ -f "$model" ] || { echo "SKIP: $model not found"; exit 77; }
[ -f "$images/dog.jpg" ] || { echo "SKIP: $images not found"; exit 77; }
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
die() { echo "FAIL: $*"; for f in "$work"/*.err; do echo "--- $f"; tail -5 "$f"; done; exit 1; }

stack_kms || die "kms"
stack_image "$model" || die "image"
stack_key || die "model key"
stack_seal "$model" || die "seal"
stack_enclave 16 || die "enclave"
stack_gateway 16 || die "gateway"
stack_wait_ready 120 || die "the enclave did not become ready"
stack_trust

# The user's own key: the user encrypts and reads answers; questions and images (any other
# direction) decrypt only for a Recipient attesting this image. The parent has no grant.
user=$user_credentials
echo "$user" >"$client/user.json"
cat >"$client/user-policy.json" <<POL
{"Version":"2012-10-17","Statement":[
 {"Sid":"Owner","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/user"},"Action":["kms:Encrypt","kms:GenerateDataKey","kms:DescribeKey","kms:PutKeyPolicy","kms:GetKeyPolicy"],"Resource":"*"},
 {"Sid":"OwnerReadsAnswers","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/user"},"Action":"kms:Decrypt","Resource":"*",
  "Condition":{"StringEquals":{"kms:EncryptionContext:confide:direction":"answer"}}},
 {"Sid":"EnclaveReadsQuestions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/user"},"Action":"kms:Decrypt","Resource":"*",
  "Condition":{"StringEqualsIgnoreCase":{"kms:RecipientAttestation:PCR0":"$pcr0"}}}]}
POL
user_key=$("$confide" kms call CreateKey --kms-endpoint "$kms" --credentials "$client/user.json" \
  --json "$(jq -n --rawfile p "$client/user-policy.json" '{Description:"user data", Policy:$p}')" |
  jq -r .KeyMetadata.KeyId)
[ -n "$user_key" ] && [ "$user_key" != null ] || die "CreateKey (user key)"

# --- A: the chatbot -------------------------------------------------------------------------------
question="Once upon a time, there was a girl named Lily"
ctx='{"confide:direction":"question"}'
qblob=$("$confide" kms call Encrypt --kms-endpoint "$kms" --credentials "$client/user.json" \
  --json "$(jq -n --arg k "$user_key" --arg p "$(printf '%s' "$question" | base64 -w0)" --argjson c "$ctx" \
    '{KeyId:$k, Plaintext:$p, EncryptionContext:$c}')" | jq -r .CiphertextBlob)
[ -n "$qblob" ] && [ "$qblob" != null ] || die "Encrypt (question)"
req=$(jq -n --arg b "$qblob" --arg k "$user_key" --argjson c "$ctx" --argjson cr "$user" \
  '{CiphertextBlob:$b, KeyId:$k, EncryptionContext:$c, Credentials:$cr, MaxTokens:32}')
curl -s --cacert "$gateway_ca" -X POST -H 'content-type: application/json' -d "$req" \
  "$gateway/v1/compat/kms-chat" >"$client/a.json"
ablob=$(jq -r .CiphertextBlob "$client/a.json" 2>/dev/null)
if [ -n "$ablob" ] && [ "$ablob" != null ]; then
  ok "A: the enclave answered with a KMS ciphertext"
  answer=$("$confide" kms call Decrypt --kms-endpoint "$kms" --credentials "$client/user.json" \
    --json "$(jq -n --arg b "$ablob" '{CiphertextBlob:$b, EncryptionContext:{"confide:direction":"answer"}}')" |
    jq -r .Plaintext | base64 -d)
  if [ -n "$answer" ]; then ok "A: the user decrypted the answer: $(printf '%s' "$answer" | head -c 80)"; else
    bad "A: the answer did not decrypt"; fi
else
  bad "A: kms-chat: $(head -c 300 "$client/a.json")"
fi
# The same question without the enclave: the parent has no grant, and even the user's own
# credentials cannot read a question outside the attested enclave.
for who in parent user; do
  creds="$work/parent.json"
  [ "$who" = user ] && creds="$client/user.json"
  if "$confide" kms call Decrypt --kms-endpoint "$kms" --credentials "$creds" \
    --json "$(jq -n --arg b "$qblob" --argjson c "$ctx" '{CiphertextBlob:$b, EncryptionContext:$c}')" \
    >/dev/null 2>"$client/deny.err"; then
    bad "A: the $who decrypted the question outside the enclave"
  elif grep -q AccessDeniedException "$client/deny.err"; then
    ok "A: the $who's own Decrypt of the question: AccessDeniedException"
  else
    bad "A: $who decrypt failed otherwise: $(cat "$client/deny.err")"
  fi
done

# --- B: object detection over an encrypted image --------------------------------------------------
"$confide" encrypt --kms-endpoint "$kms" --credentials "$client/user.json" --key-id "$user_key" \
  --context confide:direction=image --in "$images/dog.jpg" --out "$client/dog.cfe" >/dev/null ||
  die "confide encrypt (image)"
"$confide" proxy --listen 127.0.0.1:0 --gateway "$gateway" --ca "$gateway_ca" --trust "$work/trust.json" \
  >"$client/proxy.out" 2>"$client/proxy.err" &
stack_pids+=($!)
for _ in $(seq 1 100); do grep -q "listening on" "$client/proxy.out" 2>/dev/null && break; sleep 0.1; done
proxy_url=$(sed -n 's/^proxy listening on \(http:[^ ]*\).*/\1/p' "$client/proxy.out")
[ -n "$proxy_url" ] || die "proxy: $(cat "$client/proxy.err")"
jq -n --rawfile e <(base64 -w0 "$client/dog.cfe") --argjson cr "$user" \
  '{model:"yolo-fastest-1.1-xl", envelope:($e|rtrimstr("\n")), credentials:$cr, draw_boxes:true}' >"$client/b.req"
curl -s -X POST -H 'content-type: application/json' --data-binary "@$client/b.req" \
  "$proxy_url/v1/detect" >"$client/b.json"
labels=$(jq -r '[.detections[].label] | sort | join(",")' "$client/b.json" 2>/dev/null)
if [ "$labels" = "bicycle,car,dog" ]; then
  ok "B: detections in the encrypted dog.jpg: $(jq -c '[.detections[] | {label: .label, score: .score}]' "$client/b.json")"
else
  bad "B: detections '$labels': $(head -c 300 "$client/b.json")"
fi
if jq -r .image "$client/b.json" 2>/dev/null | base64 -d >"$client/boxes.jpg" 2>/dev/null &&
  [ "$(head -c 3 "$client/boxes.jpg" | od -An -tx1 | tr -d ' ')" = ffd8ff ]; then
  ok "B: the annotated JPEG came back sealed ($(wc -c <"$client/boxes.jpg") bytes)"
else
  bad "B: no annotated JPEG in the answer (fields: $(jq -c keys "$client/b.json" 2>/dev/null))"
fi
# The parent's plain decrypt of the image's data key (the envelope header's CiphertextBlob).
python3 - "$client/dog.cfe" "$client/blob" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
assert d[:5] == b"CFE1\x01"
n = struct.unpack(">H", d[45:47])[0]
open(sys.argv[2], "wb").write(d[47:47 + n])
PY
if command -v aws >/dev/null 2>&1; then
  if AWS_ACCESS_KEY_ID=AKIADEMOPARENT000001 AWS_SECRET_ACCESS_KEY=demo-parent-secret AWS_DEFAULT_REGION=us-east-1 \
    AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
    aws --endpoint-url "$kms" kms decrypt --ciphertext-blob "fileb://$client/blob" \
    --encryption-context confide:direction=image >/dev/null 2>"$client/aws.err"; then
    bad "B: aws kms decrypt by the parent succeeded"
  elif grep -q AccessDeniedException "$client/aws.err"; then
    ok "B: aws kms decrypt of the image's data key by the parent: AccessDeniedException"
  else
    bad "B: aws kms decrypt failed otherwise: $(cat "$client/aws.err")"
  fi
else
  echo "NOTE: aws CLI not installed; checking the parent's decrypt with confide instead"
fi
if "$confide" decrypt --kms-endpoint "$kms" --credentials "$work/parent.json" --in "$client/dog.cfe" \
  --out "$client/stolen.jpg" 2>"$client/deny.err"; then
  bad "B: the parent decrypted the image"
elif grep -q AccessDeniedException "$client/deny.err"; then
  ok "B: confide decrypt of the image by the parent: AccessDeniedException"
else
  bad "B: parent decrypt failed otherwise: $(cat "$client/deny.err")"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
