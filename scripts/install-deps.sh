#!/usr/bin/env bash
# Installs everything confide's build, tests, fuzzers and benchmarks need, from Debian 12's
# packages. Idempotent: packages already present are not touched, and apt is not called at all
# when nothing is missing. Run as root (or with sudo available).
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build make pkg-config git ca-certificates
  clang libclang-rt-14-dev          # libFuzzer and sanitizer runtimes for the fuzz preset
  libssl-dev                        # OpenSSL 3.0 (crypto module only)
  libre2-dev                        # RE2: guardrail custom regexes (src/guard, linear time)
  libabsl-dev                       # absl::Status / StatusOr
  libseccomp-dev                    # the enclave sandbox's syscall filter
  nlohmann-json3-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libboost-dev                      # Boost.Beast/Asio: the HTTP stack (chosen by benchmark)
  libcpp-httplib-dev wrk            # the other candidate stack and the load generator (bench)
  libsqlite3-dev                    # the KMS key store (SQLite, WAL)
  jq curl strace                    # the demo and the integration scripts (strace: canary capture)
  # OpenCV 4.6 for src/vision: only the four modules used (the libopencv-dev meta package
  # would pull ~150 more packages; cmake/FindOpenCV.cmake finds these without its config file)
  libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev libopencv-dnn-dev
)

# Test peers (npm's @hpke/core for the HPKE/OHTTP interop test) need node and npm; a machine
# that already has a node (e.g. from another source) keeps it.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  PACKAGES+=(nodejs npm)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-deps: missing ${missing[*]}; run as root to install them" >&2
    exit 1
  fi
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: done"
