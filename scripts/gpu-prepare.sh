#!/usr/bin/env bash
# On the build machine (MLIR, no GPU): compiles what scripts/gpu-check.sh
# runs on a GPU machine into gpu-inputs/ (ignored by git, a few hundred KB):
# the CUDA kernels of the check and bench cases for sm_80 and sm_90, and the
# case manifest the GPU machine rebuilds every weight and input from.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${S10_BUILD_DIR:-build}
bash scripts/build.sh s10-cuda-cases >/dev/null
rm -rf gpu-inputs/cases
"$BUILD_DIR/bin/s10-cuda-cases" gpu-inputs/cases sm_80,sm_90
du -sh gpu-inputs
