#!/usr/bin/env bash
# On the build machine (MLIR, no GPU): compiles what scripts/gpu-check.sh
# runs on a GPU machine into gpu-inputs/ (ignored by git, about 12 MB):
#   cases/  the CUDA kernels of the check and bench cases for sm_80 and
#           sm_90, and the manifest the GPU machine rebuilds their inputs from
#   model/  the bundled model (Squeeze10 default) as a CUDA artifact for
#           sm_90, and its CPU artifact's results: the reference prompt's
#           logits, the greedy continuation, the WikiText-2 test ids and
#           perplexity
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${S10_BUILD_DIR:-build}
B=$BUILD_DIR/bin
bash scripts/build.sh >/dev/null
rm -rf gpu-inputs/cases gpu-inputs/model
mkdir -p gpu-inputs/model
"$B/s10-cuda-cases" gpu-inputs/cases sm_80,sm_90

M=models/llama-12m
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
"$B/s10-translate" --import-onnx "$M/model.onnx" -o "$W/model.mlir"
"$B/s10-opt" "$W/model.mlir" --s10-raise -o "$W/raised.mlir" 2>/dev/null
"$B/s10-opt" "$W/raised.mlir" \
  --squeeze10-quantize="method=squeeze10 calib=data/wikitext-2/valid.txt tokenizer=$M/tokenizer.model" \
  --emit-bytecode -o "$W/q.mlirbc" 2>"$W/quantize.log"
"$B/s10-compile" "$W/q.mlirbc" --target=cuda --chip=sm_90 -o gpu-inputs/model/llama-12m.sm_90.s10
"$B/s10-compile" "$W/q.mlirbc" -o "$W/cpu.s10" --quiet
IDS=1,343,319,3482,305,266,2750,1607,1565,291,266
"$B/s10-run" "$W/cpu.s10" --ids $IDS --max-new-tokens 0 \
  --dump-logits gpu-inputs/model/cpu_logits.f32 --quiet
"$B/s10-run" "$W/cpu.s10" --ids $IDS --max-new-tokens 40 --stop-at-eos=false \
  --json "$W/gen.json" --quiet
"$B/s10-run" "$W/cpu.s10" --tokenizer "$M/tokenizer.model" \
  --perplexity data/wikitext-2/test.txt --seqlen 512 --json "$W/ppl.json" \
  --dump-ids gpu-inputs/model/test.ids --quiet
python3 - "$W" "$IDS" <<'PY'
import json, sys
w, ids = sys.argv[1], [int(x) for x in sys.argv[2].split(",")]
gen, ppl = json.load(open(w + "/gen.json")), json.load(open(w + "/ppl.json"))
json.dump({"artifact": "llama-12m.sm_90.s10", "prompt_ids": ids,
           "greedy_tokens": 40,
           "greedy_ids": gen["ids"][gen["prompt_tokens"]:],
           "seqlen": 512, "perplexity": ppl["perplexity"]},
          open("gpu-inputs/model/expected.json", "w"), indent=2)
print("CPU artifact perplexity %.4f" % ppl["perplexity"])
PY
du -sh gpu-inputs
