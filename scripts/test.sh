#!/usr/bin/env bash
# Installs dependencies, builds s10 and runs every test: the lit suite
# (dialects, passes, tools, compiled artifacts, the bundled model), the unit
# tests (ctest, the runtime's included), the runtime built on its own with
# only a C++ compiler (its tests and the C example), and the Python
# package's tests (pytest). With S10_CI_SANITIZE=1 it then builds everything
# again with clang under ASan+UBSan and runs lit and ctest there.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh
BUILD_DIR=${S10_BUILD_DIR:-build}
ninja -C "$BUILD_DIR" check-s10

echo "== libs10rt standalone (cmake -S runtime)"
RT_DIR="$BUILD_DIR/runtime-standalone"
cmake -G Ninja -S runtime -B "$RT_DIR" -DCMAKE_BUILD_TYPE=Release > /dev/null
ninja -C "$RT_DIR"
ctest --test-dir "$RT_DIR" --output-on-failure

echo "== Python package (pytest)"
S10_BUILD_DIR="$BUILD_DIR" PYTHONPATH=python /usr/bin/python3 -m pytest python/tests -v

if [ "${S10_CI_SANITIZE:-0}" = 1 ]; then
  echo "== ASan+UBSan build: lit and ctest (scripts/sanitize.sh)"
  bash scripts/sanitize.sh
fi
