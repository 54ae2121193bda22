#!/usr/bin/env bash
# The main job on the bundled model: import the ONNX export, raise it to
# model-level ops, quantize it with Squeeze10 (1.6 payload bits) and pack
# the weights into the bytes the kernels read, then run both models on the
# CPU: generation and WikiText-2 perplexity, with the true bits per weight
# counted from the packed bytes and the file sizes. Outputs go to
# ${S10_OUT:-out/demo}.
#   S10_DEMO_WINDOWS=K   evaluate only the first K perplexity windows
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh

BIN=${S10_BUILD_DIR:-build}/bin
OUT=${S10_OUT:-out/demo}
MODEL=models/llama-12m
TOK=$MODEL/tokenizer.model
WINDOWS=${S10_DEMO_WINDOWS:+--max-windows $S10_DEMO_WINDOWS}
mkdir -p "$OUT"

step() { printf '\n== %s\n' "$*"; }

step "import $MODEL/model.onnx"
/usr/bin/time -f "   import: %e s, peak RSS %M KiB" \
  "$BIN/s10-translate" --import-onnx "$MODEL/model.onnx" -o "$OUT/model.mlir"
echo "   $(grep -c 'onnx.node' "$OUT/model.mlir") onnx.node ops, $(grep -c '= squeeze.weight' "$OUT/model.mlir") external weight references"

step "raise to squeeze ops"
"$BIN/s10-opt" "$OUT/model.mlir" \
  --pass-pipeline='builtin.module(func.func(raise-onnx-to-squeeze{remarks=false}),canonicalize,cse)' \
  -o "$OUT/model.raised.mlir"
for op in linear rms_norm rotary attention swiglu embedding; do
  printf '   %-10s %3d\n' "$op" "$(grep -c "= squeeze.$op " "$OUT/model.raised.mlir" || true)"
done

step "quantize and pack: Squeeze10 (4-bit stage 1, 20% salient, PBAR, FIAS, GPTQ; bitmap layout)"
"$BIN/s10-opt" "$OUT/model.raised.mlir" \
  --squeeze10-quantize="calib=data/wikitext-2/valid.txt nsamples=128 seqlen=512 report=$OUT/quantize.json" \
  --emit-bytecode -o "$OUT/model.s10.mlirbc" 2>&1 | grep -v '^quantize \[\|^pack ' | sed 's/^/   /'

step "generate (fp16 weights, then packed Squeeze10 weights)"
for m in model.raised.mlir model.s10.mlirbc; do
  "$BIN/s10-run" "$OUT/$m" --tokenizer "$TOK" --quiet \
    --prompt "The history of the city begins in the" --max-new-tokens 24 \
    --json "$OUT/${m%.*}.generate.json" | sed "s/^/   [${m%.*}] /"
done

step "WikiText-2 test perplexity (reference for fp16 weights: 34.82)"
for m in model.raised.mlir model.s10.mlirbc; do
  "$BIN/s10-run" "$OUT/$m" --tokenizer "$TOK" \
    --perplexity data/wikitext-2/test.txt --seqlen 512 $WINDOWS \
    --json "$OUT/${m%.*}.perplexity.json"
done

step "summary"
/usr/bin/python3 - "$OUT" "$MODEL" <<'PY'
import json, sys, os
out, model = sys.argv[1], sys.argv[2]
q = json.load(open(os.path.join(out, "quantize.json")))
fp16_linear = 2 * q["weights"]  # the decoder linear weights as fp16
rows = [("fp16 weights", "model.raised", 16.0, 16.0, fp16_linear),
        ("Squeeze10", "model.s10", q["payload_bpw"], q["true_bpw"], q["packed_bytes"])]
print(f"   {'weights':14} {'payload bpw':>11} {'true bpw':>9} {'linear MB':>10} {'perplexity':>11} "
      f"{'eval tok/s':>10} {'generate tok/s':>14}")
for name, m, pay, tru, nbytes in rows:
    p = json.load(open(os.path.join(out, m + ".perplexity.json")))
    g = json.load(open(os.path.join(out, m + ".generate.json")))
    print(f"   {name:14} {pay:11.3f} {tru:9.3f} {nbytes / 1e6:10.3f} {p['perplexity']:11.3f} "
          f"{p['tokens_per_second']:10.0f} {g['tokens_per_second']:14.0f}")
print("   (generate: 24 new tokens, timed with the first use of every weight)")
mb = lambda f: os.path.getsize(f) / 1e6
print(f"   fp16 model on disk:   {mb(os.path.join(model, 'model.onnx')) + mb(os.path.join(model, 'model.onnx.data')):7.3f} MB "
      f"(model.onnx + model.onnx.data; decoder linears {fp16_linear / 1e6:.3f} MB)")
print(f"   packed Squeeze10:     {mb(os.path.join(out, 'model.s10.mlirbc')):7.3f} MB "
      f"(model.s10.mlirbc: {q['packed_bytes'] / 1e6:.3f} MB of packed linear weights; "
      f"embedding, norms and lm_head stay in model.onnx.data)")
print(f"   decoder linears: {fp16_linear / q['packed_bytes']:.2f}x smaller than fp16")
print(f"   reports: {out}/quantize.json, {out}/*.perplexity.json")
PY
