#!/usr/bin/env bash
# The main job on the bundled model: import the ONNX export, raise it to
# model-level ops, quantize it with the default recipe (GPTQ 3-bit with
# output refit, 3.15 true bits) and with Squeeze10 as the paper configures it
# (1.6 payload bits, 3.17 true bits), pack the weights into the bytes the
# kernels read, compile the fp16 and quantized models into CPU artifacts
# (.s10), then run them through libs10rt:
# generation and WikiText-2 perplexity, prefill and decode tokens/s beside
# the interpreter's, the true bits per weight counted from the packed bytes,
# and the file sizes. Outputs go to ${S10_OUT:-out/demo}.
#   S10_DEMO_WINDOWS=K   evaluate only the first K perplexity windows
#   S10_CPU=name         the x86-64 CPU to compile for (default: x86-64-v4
#                        on AVX-512 machines, else x86-64-v3)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh

BIN=${S10_BUILD_DIR:-build}/bin
OUT=${S10_OUT:-out/demo}
MODEL=models/llama-12m
TOK=$MODEL/tokenizer.model
WINDOWS=${S10_DEMO_WINDOWS:+--max-windows $S10_DEMO_WINDOWS}
# Kernels for this machine's vector unit: AVX-512 where it has it.
if grep -qw avx512f /proc/cpuinfo 2>/dev/null; then CPU=x86-64-v4; else CPU=x86-64-v3; fi
CPU=${S10_CPU:-$CPU}
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

step "quantize and pack: the default recipe (GPTQ 3-bit, groups of 256, act-order, clipped ranges, q8 parameters, 3 rounds of output refit; kbit layout)"
"$BIN/s10-opt" "$OUT/model.raised.mlir" \
  --squeeze10-quantize="calib=data/wikitext-2/valid.txt nsamples=128 seqlen=512 report=$OUT/quantize.json" \
  --emit-bytecode -o "$OUT/model.s10.mlirbc" 2>&1 | grep -v '^quantize \[\|^pack ' | sed 's/^/   /'

step "quantize and pack: Squeeze10 as the paper configures it (4-bit stage 1, 20% salient, PBAR, FIAS, GPTQ; bitmap layout)"
"$BIN/s10-opt" "$OUT/model.raised.mlir" \
  --squeeze10-quantize="method=squeeze10 calib=data/wikitext-2/valid.txt nsamples=128 seqlen=512 report=$OUT/quantize-squeeze10.json" \
  --emit-bytecode -o "$OUT/model.sq10.mlirbc" 2>&1 | grep -v '^quantize \[\|^pack ' | sed 's/^/   /'

step "compile to CPU artifacts (MLIR-generated x86-64 kernels for $CPU, one file each)"
for m in model.raised.mlir:model.fp16 model.s10.mlirbc:model model.sq10.mlirbc:model.sq10; do
  "$BIN/s10-compile" "$OUT/${m%%:*}" -o "$OUT/${m##*:}.s10" --cpu=$CPU \
    --report "$OUT/${m##*:}.compile.json" 2>&1 | sed 's/^/   /'
done

step "generate with the artifacts (libs10rt; no MLIR, no ONNX files)"
for m in model.fp16.s10 model.s10 model.sq10.s10; do
  "$BIN/s10-run" "$OUT/$m" --tokenizer "$TOK" --quiet \
    --prompt "The history of the city begins in the" --max-new-tokens 24 \
    --json "$OUT/${m%.s10}.generate.json" | sed "s/^/   [$m] /"
done

step "WikiText-2 test perplexity (reference for fp16 weights: 34.82)"
for m in model.fp16.s10 model.s10 model.sq10.s10; do
  printf '   [%s] ' "$m"
  "$BIN/s10-run" "$OUT/$m" --tokenizer "$TOK" --quiet \
    --perplexity data/wikitext-2/test.txt --seqlen 512 $WINDOWS \
    --json "$OUT/${m%.s10}.perplexity.json"
done
printf '   [model.s10.mlirbc, interpreter] '
"$BIN/s10-run" "$OUT/model.s10.mlirbc" --tokenizer "$TOK" --quiet \
  --perplexity data/wikitext-2/test.txt --seqlen 512 $WINDOWS \
  --json "$OUT/model.s10.interp.perplexity.json"

step "speed: compiled artifact vs interpreter (2 threads, side by side)"
/usr/bin/python3 bench/artifact.py --build "${S10_BUILD_DIR:-build}" --threads 2 \
  --cpu $CPU --out "$OUT" --models "$OUT/model.raised.mlir" "$OUT/model.s10.mlirbc" "$OUT/model.sq10.mlirbc" \
  --repeat 2 | sed 's/^/   /'

step "summary"
/usr/bin/python3 - "$OUT" "$MODEL" <<'PY'
import json, sys, os
out, model = sys.argv[1], sys.argv[2]
q = json.load(open(os.path.join(out, "quantize.json")))
qs = json.load(open(os.path.join(out, "quantize-squeeze10.json")))
bench = {os.path.basename(r["model"]): r
         for r in json.load(open(os.path.join(out, "artifact-bench.json")))["rows"]}
fp16_linear = 2 * q["weights"]  # the decoder linear weights as fp16
rows = [("fp16 weights", "model.fp16", "model.raised.mlir", 16.0, 16.0),
        ("default", "model", "model.s10.mlirbc", q["payload_bpw"], q["true_bpw"]),
        ("Squeeze10", "model.sq10", "model.sq10.mlirbc", qs["payload_bpw"], qs["true_bpw"])]
print(f"   {'weights':13} {'payload':>7} {'true':>6} {'artifact':>9} {'perplexity':>10} "
      f"{'prefill tok/s':>19} {'decode tok/s':>19}")
print(f"   {'':13} {'bpw':>7} {'bpw':>6} {'MB':>9} {'':>10} {'artifact':>9} {'interp':>9} "
      f"{'artifact':>9} {'interp':>9}")
for name, art, module, pay, tru in rows:
    p = json.load(open(os.path.join(out, art + ".perplexity.json")))
    b = bench[module]
    size = os.path.getsize(os.path.join(out, art + ".s10")) / 1e6
    print(f"   {name:13} {pay:7.3f} {tru:6.3f} {size:9.3f} {p['perplexity']:10.3f} "
          f"{b['artifact_prefill_tps']:9.0f} {b['interpreter_prefill_tps']:9.0f} "
          f"{b['artifact_decode_tps']:9.0f} {b['interpreter_decode_tps']:9.0f}")
ip = json.load(open(os.path.join(out, "model.s10.interp.perplexity.json")))
ap = json.load(open(os.path.join(out, "model.perplexity.json")))
print(f"   default recipe perplexity: artifact {ap['perplexity']:.4f}, interpreter {ip['perplexity']:.4f} "
      f"({ap['windows']} windows)")
mb = lambda f: os.path.getsize(f) / 1e6
print(f"   fp16 model on disk:   {mb(os.path.join(model, 'model.onnx')) + mb(os.path.join(model, 'model.onnx.data')):7.3f} MB "
      f"(model.onnx + model.onnx.data; decoder linears {fp16_linear / 1e6:.3f} MB)")
print(f"   default artifact:     {mb(os.path.join(out, 'model.s10')):7.3f} MB, self-contained "
      f"({q['packed_bytes'] / 1e6:.3f} MB of packed decoder linears; fp16 embedding and lm_head "
      f"{2 * 2 * 4096 * 384 / 1e6:.3f} MB)")
print(f"   decoder linears: {fp16_linear / q['packed_bytes']:.2f}x smaller than fp16")
print(f"   Squeeze10 artifact:   {mb(os.path.join(out, 'model.sq10.s10')):7.3f} MB "
      f"({qs['packed_bytes'] / 1e6:.3f} MB of packed decoder linears)")
print(f"   reports: {out}/quantize*.json, {out}/*.compile.json, {out}/*.perplexity.json, "
      f"{out}/artifact-bench.json")
PY
