#!/usr/bin/env bash
# On a machine with one NVIDIA GPU (CUDA driver, cmake, g++, Python with
# PyTorch; no MLIR): builds runtime/ and checks and measures the CUDA
# kernels that scripts/gpu-prepare.sh compiled on the build machine.
#
#   bash scripts/gpu-prepare.sh      # build machine; carries gpu-inputs/
#   bash scripts/gpu-check.sh        # GPU machine; results in $OUT or gpu-results/
#
# 1. s10-gpu-check: every kernel against the C++ reference kernels on
#    weights rebuilt from the cases' seeds, then the LLaMA-2-7B GEMVs timed
#    beside the device's copy bandwidth.
# 2. PyTorch fp16 GEMV (cuBLAS) at the same shapes, in the same run.
# 3. The bundled model's CUDA artifact through libs10rt (Python package):
#    logits, greedy continuation and WikiText-2 perplexity against its CPU
#    artifact's, prefill and decode tokens/s.
# 4. LLaMA-2-7B-shaped decode: artifacts whose packed weights
#    s10-synth-llama generates here from seeds, on the kernels of step 1,
#    beside PyTorch fp16 decode of the same shape with a static KV cache.
# 5. A summary with the ratios, and one JSON of every figure.
set -euo pipefail
cd "$(dirname "$0")/.."
RESULTS=${OUT:-gpu-results}
BUILD=${S10_GPU_BUILD_DIR:-build-gpu}
mkdir -p "$RESULTS"
if [ ! -f gpu-inputs/cases/cases.txt ]; then
  echo "gpu-check: gpu-inputs/cases is missing: run scripts/gpu-prepare.sh on the build machine" >&2
  exit 2
fi
start=$(date +%s)
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem --format=csv 2>/dev/null | tee "$RESULTS/nvidia-smi.csv" || true

cmake -S runtime -B "$BUILD" -DCMAKE_BUILD_TYPE=Release \
  -DS10RT_BUILD_TESTS=OFF -DS10RT_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$BUILD" --target s10-gpu-check s10-synth-llama s10rt \
  -j"$(nproc)" >/dev/null
echo "gpu-check: runtime built in $(( $(date +%s) - start )) s"

set +e
"$BUILD/s10-gpu-check" --cases gpu-inputs/cases --json "$RESULTS/gpu-kernels.json" \
  2>&1 | tee "$RESULTS/gpu-kernels.log"
status=${PIPESTATUS[0]}
set -e

python3 scripts/gpu_torch_gemv.py --json "$RESULTS/torch-gemv.json" \
  2>&1 | tee "$RESULTS/torch-gemv.log" || true

if [ -f gpu-inputs/model/expected.json ]; then
  set +e
  S10RT_LIBRARY="$BUILD/libs10rt.so" python3 scripts/gpu_model_check.py \
    --inputs gpu-inputs/model --json "$RESULTS/gpu-model.json" \
    2>&1 | tee "$RESULTS/gpu-model.log"
  model_status=${PIPESTATUS[0]}
  set -e
  [ "$model_status" = 0 ] || status=1
fi

# The cases' cubin for this GPU's chip (sm_90 for an H100 or H200).
CHIP=sm_$( (nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null ||
  true) | head -1 | tr -d ' .')
[ -f "gpu-inputs/cases/kernels.$CHIP.cubin" ] || CHIP=sm_90
WORK=${S10_GPU_WORK:-$(mktemp -d)}
set +e
S10RT_LIBRARY="$BUILD/libs10rt.so" python3 scripts/gpu_decode_bench.py \
  --synth "$BUILD/s10-synth-llama" --cases gpu-inputs/cases --chip "$CHIP" \
  --work "$WORK" --json "$RESULTS/decode-7b.json" 2>&1 | tee "$RESULTS/decode-7b.log"
decode_status=${PIPESTATUS[0]}
set -e
[ "$decode_status" = 0 ] || status=1

python3 - "$RESULTS" <<'PY'
import json, os, sys
res = sys.argv[1]
def load(name):
    p = os.path.join(res, name)
    return json.load(open(p)) if os.path.exists(p) else None
k, t = load("gpu-kernels.json"), load("torch-gemv.json")
summary = {"kernels": k, "torch": t, "model": load("gpu-model.json"),
           "decode_7b": load("decode-7b.json")}
if k and t:
    rows = []
    torch_us = {(r["out"], r["in"]): r["us"] for r in t["gemv"]}
    for b in k["gemv_bench"]:
        if b.get("fuse") == "gemm":
            continue
        key = (b["out"], b["in"])
        # A fused GEMV does more than cuBLAS's (SwiGLU: two weights), so
        # only the plain ones get a ratio.
        plain = b.get("fuse", "none") == "none"
        ratio = torch_us[key] / b["us"] if key in torch_us and plain else None
        rows.append(dict(b, torch_fp16_us=torch_us.get(key), speedup_vs_fp16=ratio))
        print("%-48s %-6s %5dx%-5d %8.2f us %8.1f GB/s %5.1f %% copy  fp16 cuBLAS %s us  x%s" % (
            b["kernel"][:48], b.get("fuse", "none"), b["out"], b["in"], b["us"], b["gbps"],
            100 * b["copy_fraction"],
            "%.2f" % torch_us[key] if key in torch_us else "-",
            "%.2f" % ratio if ratio else "-"))
    summary["gemv_rows"] = rows
    # The prefill GEMMs against the same weight's GEMV run once per token
    # and against cuBLAS fp16 at the same token count, all in this run.
    torch_pre = {(r["out"], r["in"], r["tokens"]): r["us"] for r in t.get("prefill", [])}
    gemv_us = {b["kernel"]: b["us"] for b in k["gemv_bench"] if b.get("fuse", "none") == "none"}
    gemm_rows = []
    for b in k["gemv_bench"]:
        if b.get("fuse") != "gemm":
            continue
        n = b["tokens"]
        per_token = gemv_us.get(b["kernel"].replace("s10_gemm_", "s10_gemv_", 1))
        fp16 = torch_pre.get((b["out"], b["in"], n))
        row = dict(b, tflops=2 * b["out"] * b["in"] * n / (b["us"] * 1e-6) / 1e12,
                   gemv_times_tokens_us=per_token * n if per_token else None,
                   speedup_vs_gemv=per_token * n / b["us"] if per_token else None,
                   torch_fp16_us=fp16, speedup_vs_fp16=fp16 / b["us"] if fp16 else None)
        gemm_rows.append(row)
        print("%-48s %5dx%-5d x%3d tokens %8.2f us %6.1f TFLOP/s  GEMV x tokens %s us  fp16 cuBLAS %s us" % (
            b["kernel"][:48], b["out"], b["in"], n, b["us"], row["tflops"],
            "%.1f" % row["gemv_times_tokens_us"] if per_token else "-",
            "%.2f" % fp16 if fp16 else "-"))
    summary["prefill_gemm_rows"] = gemm_rows
    # One LLaMA-2-7B token's GEMVs from the measured kernel times (not a
    # measured decode: attention, norms and launches are left out): per
    # layer q, k, v, o (4096x4096), gate, up (11008x4096), down
    # (4096x11008), 32 layers, then the fp16 lm_head.
    def us_of(prefix, out, inn, fuse="none"):
        for b in k["gemv_bench"]:
            if (b["kernel"].startswith(prefix) and (b["out"], b["in"]) == (out, inn)
                    and b.get("fuse", "none") == fuse):
                return b["us"]
    est = {}
    for name, prefix in (("squeeze10", "s10_gemv_bitmap"),
                         ("kbit2-g128", "s10_gemv_kbit_k2_g128"),
                         ("kbit3-g256-q8", "s10_gemv_kbit_k3_g256_q8"),
                         ("fp16", "s10_gemv_dense")):
        parts = [us_of(prefix, 4096, 4096), us_of(prefix, 11008, 4096),
                 us_of(prefix, 4096, 11008), us_of("s10_gemv_dense", 32000, 4096)]
        if None in parts:
            continue
        us = 32 * (4 * parts[0] + 2 * parts[1] + parts[2]) + parts[3]
        est[name] = {"gemv_us_per_token": us, "gemv_bound_tokens_per_s": 1e6 / us}
        print("LLaMA-2-7B GEMVs per token, %-18s %8.1f us  -> at most %6.0f tokens/s" % (name, us, 1e6 / us))
        # The fused plan: q, k, v with the RMSNorm (one launch in the plan,
        # timed here as three norm GEMVs); o and down with the residual add;
        # gate and up with the RMSNorm and SwiGLU in one launch; the head
        # with the final norm.
        fused = [us_of(prefix, 4096, 4096, "norm"), us_of(prefix, 4096, 4096, "add"),
                 us_of(prefix, 11008, 4096, "normswiglu"), us_of(prefix, 4096, 11008, "add"),
                 us_of("s10_gemv_dense", 32000, 4096, "norm")]
        if None not in fused:
            us = 32 * (3 * fused[0] + fused[1] + fused[2] + fused[3]) + fused[4]
            est[name]["fused_gemv_us_per_token"] = us
            print("LLaMA-2-7B GEMVs per token, %-18s %8.1f us  (fused plan)" % (name, us))
    if t and "gemv" in t:
        tm = {(r["out"], r["in"]): r["us"] for r in t["gemv"]}
        if all(s in tm for s in ((4096, 4096), (11008, 4096), (4096, 11008))):
            us = 32 * (4 * tm[(4096, 4096)] + 2 * tm[(11008, 4096)] + tm[(4096, 11008)])
            est["torch_fp16_decoder_gemvs"] = {"gemv_us_per_token": us}
    summary["llama2_7b_gemv_estimate"] = est
json.dump(summary, open(os.path.join(res, "gpu-check.json"), "w"), indent=2)
print("gpu-check: results in", os.path.join(res, "gpu-check.json"))
PY
echo "gpu-check: done in $(( $(date +%s) - start )) s"
exit "$status"
