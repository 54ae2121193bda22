#!/usr/bin/env python3
"""Compiled artifact vs interpreter: prefill and decode tokens/s, side by side.

usage: artifact.py [--build build] [--threads 2] [--out out/bench-artifact]
                   [--cpu x86-64-v4] [--models raised.mlir packed.mlirbc ...]

For each model (default: the bundled model raised to fp16 and quantized with
Squeeze10's default recipe, both produced here if missing) it compiles a
.s10 artifact and measures, with the same thread count and in one run:
  prefill: perplexity windows of 512 tokens (each one chunk; the time of
           the forward passes, not of scoring their logits),
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
                help="s10-compile --cpu, or several separated by commas to "
                     "measure each (default: x86-64-v4 where the CPU has "
                     "AVX-512, else x86-64-v3); the first fills the summary")
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


def measure_once(model, tmp):
    """Prefill and decode tokens/s of one run each."""
    pj = os.path.join(tmp, "p.json")
    run([os.path.join(binp, "s10-run"), model, "--tokenizer", tok,
         "--perplexity", text, "--seqlen", "512", "--max-windows",
         str(args.windows), "--threads", str(args.threads), "--quiet",
         "--json", pj])
    # The forward passes alone, not the scoring of their logits.
    pre = json.load(open(pj))["prefill_tokens_per_second"]
    gj = os.path.join(tmp, "g.json")
    run([os.path.join(binp, "s10-run"), model, "--ids", "1,343,319",
         "--max-new-tokens", str(args.new), "--stop-at-eos=false",
         "--threads", str(args.threads), "--quiet", "--json", gj])
    g = json.load(open(gj))
    # The artifact path times decode steps alone; the interpreter reports
    # new tokens over the whole run (3-token prefill).
    return pre, g.get("decode_tokens_per_second", g["tokens_per_second"])


cpus = cpu.split(",")
rows = []
for m in models():
    stem = os.path.basename(m).split(".")
    arts = {}
    for c in cpus:
        arts[c] = os.path.join(args.out, stem[0] + "-" + stem[1] +
                               ("" if c == cpus[0] else "-" + c) + ".s10")
        run([os.path.join(binp, "s10-compile"), m, "-o", arts[c], "--cpu", c,
             "--quiet"])
    # Every variant once per round, so that all of them see the same
    # machine load; the best of the rounds is kept.
    best = {k: (0.0, 0.0) for k in ["interp"] + cpus}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeat):
            for k in best:
                pre, dec = measure_once(m if k == "interp" else arts[k], tmp)
                best[k] = (max(best[k][0], pre), max(best[k][1], dec))
    rows.append({"model": m, "artifact": arts[cpus[0]],
                 "artifact_bytes": os.path.getsize(arts[cpus[0]]),
                 "interpreter_prefill_tps": best["interp"][0],
                 "interpreter_decode_tps": best["interp"][1],
                 "artifact_prefill_tps": best[cpus[0]][0],
                 "artifact_decode_tps": best[cpus[0]][1],
                 "by_cpu": {c: {"prefill_tps": best[c][0],
                                "decode_tps": best[c][1]} for c in cpus}})

print(f"threads {args.threads}; prefill = {args.windows} windows of 512 "
      f"tokens, decode = {args.new} tokens (best of {args.repeat} rounds)")
print(f"{'model':20} {'kernels for':12} {'prefill tok/s':>26} "
      f"{'decode tok/s':>26}")
print(f"{'':20} {'':12} {'interp':>8} {'artifact':>9} {'ratio':>7} "
      f"{'interp':>8} {'artifact':>9} {'ratio':>7}")
for r in rows:
    ip, idec = r["interpreter_prefill_tps"], r["interpreter_decode_tps"]
    for c in cpus:
        ap_, adec = r["by_cpu"][c]["prefill_tps"], r["by_cpu"][c]["decode_tps"]
        print(f"{os.path.basename(r['model']):20} {c:12} {ip:8.0f} "
              f"{ap_:9.0f} {ap_ / ip:6.2f}x {idec:8.0f} {adec:9.0f} "
              f"{adec / idec:6.2f}x")
json.dump({"threads": args.threads, "cpu": cpus[0], "rows": rows},
          open(os.path.join(args.out, "artifact-bench.json"), "w"), indent=2)
