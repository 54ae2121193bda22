#!/usr/bin/env python3
"""Compiled artifact vs interpreter: prefill and decode tokens/s, side by side.

usage: artifact.py [--build build] [--threads 2] [--out out/bench-artifact]
                   [--cpu x86-64-v4] [--models raised.mlir packed.mlirbc ...]

For each model (default: the bundled model raised to fp16 and quantized with
Squeeze10's default recipe, both produced here if missing) it compiles a
.s10 artifact and measures, with the same thread count and in one run:
  prefill: perplexity windows of 512 tokens (scored as one chunk each),
  decode:  greedy generation of --new tokens after a short prompt.
Each measurement is the best of --repeat runs. Prints a table and writes
artifact-bench.json.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ap = argparse.ArgumentParser()
ap.add_argument("--build", default=os.environ.get("S10_BUILD_DIR", "build"))
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--out", default="out/bench-artifact")
ap.add_argument("--models", nargs="*")
ap.add_argument("--windows", type=int, default=4,
                help="perplexity windows for the prefill measurement")
ap.add_argument("--new", type=int, default=128, help="decode tokens")
ap.add_argument("--repeat", type=int, default=3)
ap.add_argument("--cpu", default=None,
                help="s10-compile --cpu (default: x86-64-v4 where the CPU has "
                     "AVX-512, else x86-64-v3)")
args = ap.parse_args()


def host_cpu():
    try:
        flags = open("/proc/cpuinfo").read().split()
    except OSError:
        flags = []
    return "x86-64-v4" if "avx512f" in flags else "x86-64-v3"


cpu = args.cpu or host_cpu()

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
binp = os.path.join(args.build, "bin")
tok = os.path.join(root, "models/llama-12m/tokenizer.model")
text = os.path.join(root, "data/wikitext-2/test.txt")
os.makedirs(args.out, exist_ok=True)


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode:
        sys.stderr.write(" ".join(cmd) + "\n" + r.stderr)
        sys.exit(1)
    return r


def models():
    if args.models:
        return args.models
    raised = os.path.join(args.out, "model.raised.mlir")
    packed = os.path.join(args.out, "model.s10.mlirbc")
    if not os.path.exists(raised):
        imported = os.path.join(args.out, "model.mlir")
        run([os.path.join(binp, "s10-translate"), "--import-onnx",
             os.path.join(root, "models/llama-12m/model.onnx"), "-o", imported])
        run([os.path.join(binp, "s10-opt"), imported, "--pass-pipeline=builtin"
             ".module(func.func(raise-onnx-to-squeeze{remarks=false}),"
             "canonicalize,cse)", "-o", raised])
    if not os.path.exists(packed):
        print("quantizing with Squeeze10 (default recipe)...", flush=True)
        run([os.path.join(binp, "s10-opt"), raised, "--squeeze10-quantize="
             "calib=" + os.path.join(root, "data/wikitext-2/valid.txt"),
             "--emit-bytecode", "-o", packed])
    return [raised, packed]


def measure(model):
    with tempfile.TemporaryDirectory() as tmp:
        best_pre, best_dec = 0.0, 0.0
        for _ in range(args.repeat):
            pj = os.path.join(tmp, "p.json")
            run([os.path.join(binp, "s10-run"), model, "--tokenizer", tok,
                 "--perplexity", text, "--seqlen", "512", "--max-windows",
                 str(args.windows), "--threads", str(args.threads), "--quiet",
                 "--json", pj])
            best_pre = max(best_pre, json.load(open(pj))["tokens_per_second"])
            gj = os.path.join(tmp, "g.json")
            run([os.path.join(binp, "s10-run"), model, "--ids", "1,343,319",
                 "--max-new-tokens", str(args.new), "--stop-at-eos=false",
                 "--threads", str(args.threads), "--quiet", "--json", gj])
            g = json.load(open(gj))
            # The artifact path times decode steps alone; the interpreter
            # reports new tokens over the whole run (3-token prefill).
            dec = g.get("decode_tokens_per_second", g["tokens_per_second"])
            best_dec = max(best_dec, dec)
        return best_pre, best_dec


rows = []
for m in models():
    art = os.path.join(args.out, os.path.basename(m).split(".")[0] + "-" +
                       os.path.basename(m).split(".")[1] + ".s10")
    run([os.path.join(binp, "s10-compile"), m, "-o", art, "--cpu", cpu,
         "--quiet"])
    ip, idec = measure(m)
    ap_, adec = measure(art)
    rows.append({"model": m, "artifact": art,
                 "artifact_bytes": os.path.getsize(art),
                 "interpreter_prefill_tps": ip, "interpreter_decode_tps": idec,
                 "artifact_prefill_tps": ap_, "artifact_decode_tps": adec})

print(f"threads {args.threads}; kernels for {cpu}; prefill = {args.windows} "
      f"windows of 512 tokens, decode = {args.new} tokens (best of "
      f"{args.repeat})")
print(f"{'model':32} {'prefill tok/s':>26} {'decode tok/s':>26}")
print(f"{'':32} {'interp':>8} {'artifact':>9} {'ratio':>7} {'interp':>8} "
      f"{'artifact':>9} {'ratio':>7}")
for r in rows:
    print(f"{os.path.basename(r['model']):32} {r['interpreter_prefill_tps']:8.0f} "
          f"{r['artifact_prefill_tps']:9.0f} "
          f"{r['artifact_prefill_tps'] / r['interpreter_prefill_tps']:6.2f}x "
          f"{r['interpreter_decode_tps']:8.0f} {r['artifact_decode_tps']:9.0f} "
          f"{r['artifact_decode_tps'] / r['interpreter_decode_tps']:6.2f}x")
json.dump({"threads": args.threads, "cpu": cpu, "rows": rows},
          open(os.path.join(args.out, "artifact-bench.json"), "w"), indent=2)
