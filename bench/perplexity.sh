#!/bin/sh
# Full WikiText-2 test perplexity of the bundled model with s10-run:
# 863 windows of 512 tokens (441,932 tokens), reference 34.82.
#
# usage: bench/perplexity.sh [BUILD_DIR] [onnx|raised|MODEL] [extra s10-run args]
#   onnx    the imported ONNX graph (default)
#   raised  the squeeze-level form written by
#           test/Runtime/Inputs/make_raised_llama.py
#   MODEL   any .onnx/.mlir/.mlirbc model
#
# The time is dominated by sgemm. OpenBLAS 0.3.21 runs its Haswell (AVX2)
# kernels on AVX-512 AMD CPUs unless told otherwise: when OPENBLAS_CORETYPE
# is unset s10-run selects SkylakeX itself; an environment that pins
# OPENBLAS_CORETYPE=Haswell is respected (export OPENBLAS_CORETYPE=SkylakeX
# for ~1.7x on such CPUs).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build-exec}
which=${2:-onnx}
[ $# -ge 1 ] && shift
[ $# -ge 1 ] && shift
models=$root/models/llama-12m
case $which in
onnx) model=$models/model.onnx ;;
raised)
  model=${TMPDIR:-/tmp}/s10-llama-12m.raised.mlir
  /usr/bin/python3 "$root/test/Runtime/Inputs/make_raised_llama.py" \
    "$models/model.onnx" -o "$model" ;;
*) model=$which ;;
esac
json=${TMPDIR:-/tmp}/s10-perplexity.json
"$build/bin/s10-run" "$model" --tokenizer "$models/tokenizer.model" \
  --perplexity "$root/data/wikitext-2/test.txt" --seqlen 512 --json "$json" "$@"
cat "$json"
