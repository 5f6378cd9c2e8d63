#!/usr/bin/env bash
# Enclave start-to-ready time of the process backend: `confide enclave run` of an image whose
# runtime is confide-enclave (plus its libraries) until its /health answers over vsock, N times,
# next to a baseline measured in the same run: creating the same namespaces around /bin/true
# (`unshare --user --mount --pid --net --ipc --uts --fork true`). Prints medians and the ratio.
# Usage: scripts/bench-enclave-start.sh [BUILD_DIR=build/release] [N=15]  (as root)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
n=${2:-15}
confide=$(realpath "$build/apps/confide/confide")
runtime=$(realpath "$build/apps/confide-enclave/confide-enclave")
work=$(mktemp -d)
chmod 0755 "$work"
export CONFIDE_RUN_DIR="$work/run" CONFIDE_VSOCK_DIR="$work/vsock" CONFIDE_SIM_ROOT="$work/root"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/img/rt" "$work/img/app"
cp "$runtime" "$work/img/rt/confide-enclave"
for lib in $(ldd "$runtime" | grep -o '/[^ ]*'); do cp -L "$lib" "$work/img/rt/"; done
echo '{}' >"$work/img/app/config.json"
files=$(cd "$work/img" && ls rt | sed 's|^|"rt/|; s|$|"|' | paste -sd,)
printf 'name = "bench"\n[runtime]\nfiles = [%s]\n[application]\nfiles = ["app/config.json"]\n' \
  "$files" >"$work/img/enclave.toml"
"$confide" enclave build --manifest "$work/img/enclave.toml" --output "$work/app.eif" >/dev/null
"$confide" enclave init-root >/dev/null
size=$(stat -c %s "$work/app.eif")
now_ms() { date +%s%N | awk '{printf "%.3f", $1 / 1e6}'; }
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.1f", m}'; }
ready=() wall=() base=()
for i in $(seq "$n"); do
  t0=$(now_ms)
  out=$("$confide" enclave run --image "$work/app.eif" --cpu-count 1 --memory 512 --cid 16)
  t1=$(now_ms)
  ready+=("$(echo "$out" | grep -o '"StartToReadyMs": [0-9.]*' | grep -o '[0-9.]*$')")
  wall+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')")
  id=$(echo "$out" | grep -o '"EnclaveID": "[^"]*' | cut -d'"' -f4)
  "$confide" enclave terminate --enclave-id "$id" >/dev/null
  t0=$(now_ms)
  unshare --user --map-root-user --mount --pid --net --ipc --uts --fork true
  t1=$(now_ms)
  base+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')")
done
r=$(printf '%s\n' "${ready[@]}" | median)
w=$(printf '%s\n' "${wall[@]}" | median)
b=$(printf '%s\n' "${base[@]}" | median)
echo "image: $size bytes; runs: $n"
echo "start-to-ready (supervisor: spawn -> /health answers): median $r ms"
echo "confide enclave run, wall (parse, verify, fork, ready):  median $w ms"
echo "baseline: bare namespaces around /bin/true:             median $b ms"
awk -v r="$r" -v w="$w" -v b="$b" 'BEGIN {printf "ratio start-to-ready / baseline: %.1fx; run wall / baseline: %.1fx\n", r / b, w / b}'
