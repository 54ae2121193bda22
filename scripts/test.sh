#!/usr/bin/env bash
# Installs dependencies, builds s10 and runs every test: the lit suite
# (dialects, passes, tools, the bundled model) and the unit tests (ctest).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh
ninja -C "${S10_BUILD_DIR:-build}" check-s10
