#!/usr/bin/env bash
# Builds the confidential-inference enclave image: confide-enclave and the shared libraries it
# loads (runtime section, PCR1), enclave.json + guardrail policy + vision models (application
# section, PCR2), and the plaintext model's SHA-256 pinned in the image's metadata.
# Usage: build-enclave-image.sh CONFIDE CONFIDE_ENCLAVE MODEL.gguf OUT_DIR [MODEL_NAME]
# Writes OUT_DIR/app.eif and OUT_DIR/app.describe.json; prints PCR0 on the last line.
set -euo pipefail
confide=$(realpath "$1")
runtime=$(realpath "$2")
model=$(realpath "$3")
out=$(realpath -m "$4")
name=${5:-$(basename "$model" .gguf)}
repo=$(cd "$(dirname "$0")/.." && pwd)
shared=${CONFIDE_SHARED_DIR:-$(cd "$repo/.." && pwd)/shared}
img="$out/image"
rm -rf "$img"
mkdir -p "$img/rt" "$img/app"

# Debug information is not code: it stays out of the image, whose files live in the enclave's
# memory (a debug build's confide-enclave is ~180 MB with it, ~50 MB without).
strip --strip-debug -o "$img/rt/confide-enclave" "$runtime"
# The dynamic loader and every library confide-enclave loads travel in the runtime section.
for lib in $(ldd "$runtime" | grep -o '/[^ ]*'); do cp -L "$lib" "$img/rt/"; done

vision_json=""
vision="$shared/models/vision"
if [ -f "$vision/yolo-fastest/yolo-fastest-1.1-xl.weights" ] && [ -f "$vision/ultraface/version-RFB-320.onnx" ]; then
  cp "$vision/yolo-fastest/yolo-fastest-1.1-xl.cfg" "$vision/yolo-fastest/yolo-fastest-1.1-xl.weights" \
    "$vision/yolo-fastest/coco.names" "$vision/ultraface/version-RFB-320.onnx" "$img/app/"
  vision_json=',
  "vision": {"yolo_cfg": "yolo-fastest-1.1-xl.cfg", "yolo_weights": "yolo-fastest-1.1-xl.weights",
             "coco_names": "coco.names", "ultraface_onnx": "version-RFB-320.onnx"}'
fi
cp "$repo/config/guardrail.json" "$img/app/guardrail.json"
cat >"$img/app/enclave.json" <<JSON
{
  "model": {"name": "$name", "max_tokens": 256, "threads": 1},
  "kms": {"vsock_port": 8000, "region": "us-east-1", "host": "kms.confide.local"},
  "provision_port": 7000,
  "guardrail": "guardrail.json"$vision_json
}
JSON
sha=$(sha256sum "$model" | cut -d' ' -f1)
list() { (cd "$img" && ls "$1" | sed "s|^|\"$1/|; s|\$|\"|" | paste -sd,); }
cat >"$img/enclave.toml" <<TOML
name = "confide-$name"
[runtime]
files = [$(list rt)]
[application]
files = [$(list app)]
model_sha256 = "$sha"
TOML
"$confide" enclave build --manifest "$img/enclave.toml" --output "$out/app.eif" >/dev/null
"$confide" enclave describe-image "$out/app.eif" >"$out/app.describe.json"
grep -o '"PCR0": "[0-9a-f]*"' "$out/app.describe.json" | cut -d'"' -f4
