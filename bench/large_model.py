#!/usr/bin/env python3
"""Quantizes K decoder blocks of a LLaMA-2-7B- or 70B-shaped model and
projects the time for the whole model.

    /usr/bin/python3 bench/large_model.py --shape llama2-7b --layers 2 \
        [--nsamples 8] [--seqlen 256] [--threads 0] [--work DIR] [--json F]

Writes the model with python/s10_testgen/make_llama_shaped.py (seeded
random fp16 weights of the real dims), imports and raises it, then runs the
Squeeze10 recipe (calibration, stage-1 4-bit GPTQ, PBAR salience, mixed
GPTQ, packing) in one s10-opt process and reports its peak resident memory
(from the kernel, wait4), each stage's wall time (s10-opt --mlir-timing),
seconds per block and per layer kind, and the projected wall time of the
whole model on 1, 8 and 64 such machines. The projection is arithmetic on
the measured per-block times: each shard runs the full-precision pass over
every block (calibration is not divided) and quantizes 1/N of the layers.
"""

import argparse
import json
import math
import os
import re
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared")
# Full models: decoder blocks, and the peak-memory goal for the bench's K.
FULL = {"llama2-7b": {"blocks": 32, "rss_goal_gib": {2: 3.0}},
        "llama2-70b": {"blocks": 80, "rss_goal_gib": {1: 8.0}},
        "small": {"blocks": 4, "rss_goal_gib": {}}}
STAGES = ("SqueezeCalibrate", "SqueezeQuantizeStage1", "SqueezeSelectSalient",
          "SqueezeGPTQ", "SqueezeReport", "SqueezePack")


PEAK = {}  # where the last run() peaked: seconds, bytes, the line before


def sample_rss(pid, progress, stop):
    """Samples the resident memory of pid every 0.25 s until stop is set;
    keeps the largest sample and the progress line printed before it."""
    while not stop.is_set():
        try:
            with open(f"/proc/{pid}/status") as f:
                kb = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
        except (OSError, StopIteration):
            break
        if kb * 1024 > PEAK.get("bytes", 0):
            PEAK.update(bytes=kb * 1024, at=progress["t"](),
                        during=progress["line"].strip())
        stop.wait(0.25)


def run(cmd, **kw):
    """Runs cmd; returns (stdout+stderr text, peak RSS bytes, seconds)."""
    start = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, **kw)
    PEAK.clear()
    progress = {"line": "(start)", "t": lambda: time.monotonic() - start}
    stop = threading.Event()
    sampler = threading.Thread(target=sample_rss, args=(p.pid, progress, stop))
    sampler.start()
    out = []
    for line in p.stdout:
        out.append(line)
        if line.startswith(("calibrate:", "stage1 [", "select-salient [",
                            "quantize [", "squeeze10-quantize:")):
            sys.stderr.write(f"  [{time.monotonic() - start:7.1f} s] " + line)
            progress["line"] = line
    stop.set()
    sampler.join()
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    text = "".join(out)
    if p.returncode != 0:
        sys.exit(f"large_model: {' '.join(cmd[:2])} failed "
                 f"(exit {p.returncode}):\n{text[-4000:]}")
    return text, usage.ru_maxrss * 1024, time.monotonic() - start


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shape", default="llama2-7b", choices=sorted(FULL))
    ap.add_argument("--layers", type=int, default=2, help="decoder blocks (K)")
    ap.add_argument("--nsamples", type=int, default=8)
    ap.add_argument("--seqlen", type=int, default=256)
    ap.add_argument("--threads", type=int, default=0, help="0: all cores")
    ap.add_argument("--build", default=os.environ.get(
        "S10_BUILD_DIR", os.path.join(ROOT, "build")))
    ap.add_argument("--work", default=None,
                    help="directory for the model (default /tmp/s10-SHAPE-K)")
    ap.add_argument("--json", default=None, help="write the results here")
    a = ap.parse_args()
    work = a.work or f"/tmp/s10-{a.shape}-{a.layers}"
    os.makedirs(work, exist_ok=True)
    bin_dir = os.path.join(a.build, "bin")
    onnx_path = os.path.join(work, "model.onnx")
    cfg_path = os.path.join(work, "config.json")
    want = {"shape": a.shape, "layers": a.layers}
    have = json.load(open(cfg_path)) if os.path.exists(cfg_path) else {}
    if any(have.get(k) != v for k, v in want.items()) or not os.path.exists(onnx_path):
        print(f"large_model: writing the {a.shape} model with {a.layers} block(s)",
              file=sys.stderr)
        subprocess.run([sys.executable, os.path.join(
            ROOT, "python", "s10_testgen", "make_llama_shaped.py"),
            "--shape", a.shape, "--layers", str(a.layers), "--out", work],
            check=True)
    cfg = json.load(open(cfg_path))

    mlir = os.path.join(work, "model.mlir")
    raised = os.path.join(work, "model.raised.mlir")
    run([os.path.join(bin_dir, "s10-translate"), "--import-onnx", onnx_path,
         "-o", mlir])
    run([os.path.join(bin_dir, "s10-opt"), mlir, "--pass-pipeline=builtin.module("
         "func.func(raise-onnx-to-squeeze),canonicalize,cse)", "-o", raised])

    report = os.path.join(work, "report.json")
    opts = (f"method=squeeze10 calib={SHARED}/data/wikitext-2/valid.txt "
            f"tokenizer={SHARED}/models/llama-12m/tokenizer.model "
            f"nsamples={a.nsamples} seqlen={a.seqlen} threads={a.threads} "
            f"report={report}")
    print(f"large_model: quantizing ({opts.split(' ', 3)[3]})", file=sys.stderr)
    text, rss, wall = run([os.path.join(bin_dir, "s10-opt"), raised,
                           "--emit-bytecode", "-o", os.path.join(work, "model.q.mlirbc"),
                           f"--squeeze10-quantize={opts}", "--mlir-timing"])
    stages = {}
    for name in STAGES:
        m = re.search(r"^\s*([0-9.]+) \(\s*[0-9.]+%\)\s+" + name + r"$", text, re.M)
        stages[name] = float(m.group(1)) if m else 0.0
    rep = json.load(open(report))
    kinds = {}
    for layer in rep["layers"]:
        kind = layer["layer"].split(".", 1)[1]
        kinds.setdefault(kind, []).append(layer["seconds"])

    k = a.layers
    calib = stages["SqueezeCalibrate"] / k
    quant = sum(stages[s] for s in STAGES[1:]) / k
    blocks = FULL[a.shape]["blocks"]
    proj = {}
    for n in (1, 8, 64):
        proj[n] = blocks * calib + math.ceil(blocks / n) * quant

    gib = rss / 2**30
    goal = FULL[a.shape]["rss_goal_gib"].get(k)
    print(f"\n{a.shape} with {k} of {blocks} blocks (hidden {cfg['hidden']}, "
          f"{cfg['heads']} heads / {cfg['kv_heads']} KV, MLP {cfg['inter']}, "
          f"vocab {cfg['vocab']}), {cfg['external_data_bytes'] / 2**30:.2f} GiB "
          f"of fp16 weights")
    print(f"calibration: {a.nsamples} windows x {a.seqlen} tokens; threads "
          f"{a.threads or os.cpu_count()} of {os.cpu_count()} cores")
    line = f"peak RSS      {gib:6.2f} GiB"
    if goal is not None:
        line += f"  (goal < {goal:.0f} GiB: {'met' if gib < goal else 'NOT met'})"
    print(line)
    if PEAK:
        print(f"  sampled peak {PEAK['bytes'] / 2**30:.2f} GiB at "
              f"{PEAK['at']:.0f} s, after: {PEAK['during']}")
    print(f"wall time     {wall:7.1f} s")
    for name in STAGES:
        print(f"  {name:24s} {stages[name]:8.1f} s")
    print(f"per block: calibration {calib:.1f} s, quantization and packing "
          f"{quant:.1f} s")
    print("GPTQ seconds per layer kind (mean): " + ", ".join(
        f"{kd} {sum(v) / len(v):.1f}" for kd, v in kinds.items()))
    print(f"true bits per weight {rep['true_bpw']:.3f} "
          f"({rep['packed_bytes'] / 2**20:.1f} MiB packed for {rep['weights']:,} "
          f"weights)")
    print(f"projected for all {blocks} blocks (same calibration size): " +
          ", ".join(f"{n} machine{'s' if n > 1 else ''} {t / 3600:.2f} h"
                    for n, t in proj.items()))
    result = {"shape": a.shape, "layers": k, "full_blocks": blocks,
              "nsamples": a.nsamples, "seqlen": a.seqlen,
              "threads": a.threads or os.cpu_count(),
              "peak_rss_bytes": rss, "rss_goal_gib": goal, "wall_seconds": wall,
              "sampled_peak": dict(PEAK),
              "stage_seconds": stages,
              "seconds_per_block": {"calibration": calib, "quantization": quant},
              "gptq_seconds_per_kind": {kd: sum(v) / len(v) for kd, v in kinds.items()},
              "true_bpw": rep["true_bpw"],
              "projected_seconds": {str(n): t for n, t in proj.items()}}
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=1)
            f.write("\n")
    if goal is not None and gib >= goal:
        sys.exit(1)


if __name__ == "__main__":
    main()
