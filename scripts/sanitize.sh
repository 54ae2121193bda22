#!/usr/bin/env bash
# Builds s10 with clang-22 under AddressSanitizer and UndefinedBehaviorSanitizer
# (S10_SANITIZE=address,undefined) into ${S10_SAN_BUILD_DIR:-build-san} and
# runs the whole lit and ctest suite there. Any sanitizer report fails the
# test that triggered it. Extra arguments go to ninja (e.g. a target).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh --sanitize
BUILD_DIR=${S10_SAN_BUILD_DIR:-build-san}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -G Ninja -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DS10_SANITIZE=address,undefined -DS10_ENABLE_FUZZERS=ON
fi
# halt_on_error: the first report ends the process with a non-zero exit, so
# the test fails. Leak checking stays on.
# allow_user_poisoning=0: LLVM's allocators poison their slabs from inline
# header code (instrumented here) while the prebuilt, uninstrumented LLVM
# and MLIR libraries hand the same memory out without unpoisoning it; with
# both in one process those hints only produce false reports.
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1:allow_user_poisoning=0:strict_string_checks=1:check_initialization_order=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
# The sanitizer build has no MPI (tools/s10-quantize/CMakeLists.txt).
export S10_ALLOW_MISSING=${S10_ALLOW_MISSING:-mpi}
start=$(date +%s)
ninja -C "$BUILD_DIR" "${@:-check-s10}"
echo "s10 sanitizer run (address,undefined): finished in $(( $(date +%s) - start )) s"
