#!/usr/bin/env bash
# Installs the Debian packages s10 builds and runs with (bookworm + LLVM 22).
set -euo pipefail

PKGS=(
  cmake ninja-build g++ pkg-config
  llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools
  libonnx-dev libprotobuf-dev protobuf-compiler libonnx-testdata
  libsentencepiece-dev libopenblas-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libopenmpi-dev openmpi-bin
  python3-numpy python3-onnx python3-sentencepiece python3-matplotlib
  python3-pytest
)

# --sanitize: also clang-22 and its runtimes (sanitizers, libFuzzer).
if [ "${1:-}" = "--sanitize" ]; then
  PKGS+=(clang-22 libclang-rt-22-dev)
fi

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "s10: all build dependencies are installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "s10: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
echo "s10: installing ${missing[*]}"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
