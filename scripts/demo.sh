#!/usr/bin/env bash
# The main job on the bundled model: import the ONNX export, raise it to
# model-level ops, then run it on the CPU (generation and WikiText-2
# perplexity). Outputs go to ${S10_OUT:-out/demo}.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh

BIN=${S10_BUILD_DIR:-build}/bin
OUT=${S10_OUT:-out/demo}
MODEL=models/llama-12m
mkdir -p "$OUT"

step() { printf '\n== %s\n' "$*"; }

step "import $MODEL/model.onnx"
/usr/bin/time -f "   import: %e s, peak RSS %M KiB" \
  "$BIN/s10-translate" --import-onnx "$MODEL/model.onnx" -o "$OUT/model.mlir"
echo "   $(grep -c 'onnx.node' "$OUT/model.mlir") onnx.node ops, $(grep -c 'squeeze.weight' "$OUT/model.mlir") weight references"

step "raise to squeeze ops"
"$BIN/s10-opt" "$OUT/model.mlir" \
  --pass-pipeline='builtin.module(func.func(raise-onnx-to-squeeze{remarks=false}),canonicalize,cse)' \
  -o "$OUT/model.raised.mlir"
for op in linear rms_norm rotary attention swiglu embedding; do
  printf '   %-10s %3d\n' "$op" "$(grep -c "squeeze.$op " "$OUT/model.raised.mlir" || true)"
done

step "generate"
"$BIN/s10-run" "$OUT/model.raised.mlir" --tokenizer "$MODEL/tokenizer.model" \
  --prompt "The history of the city begins in the" --max-new-tokens 24 \
  --json "$OUT/generate.json"

step "WikiText-2 test perplexity (fp16 weights, fp32 compute; reference 34.82)"
"$BIN/s10-run" "$OUT/model.raised.mlir" --tokenizer "$MODEL/tokenizer.model" \
  --perplexity data/wikitext-2/test.txt --seqlen 512 ${S10_DEMO_WINDOWS:+--max-windows $S10_DEMO_WINDOWS} \
  --json "$OUT/perplexity.json"
echo "   report: $OUT/perplexity.json"
