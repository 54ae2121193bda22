#!/usr/bin/python3
"""Quantizes the bundled model with every method and ablation in one harness
and measures WikiText-2 test perplexity for each.

Every row uses the same calibration (128 windows of 512 tokens from
WikiText-2 valid, seed 0), the same evaluation (non-overlapping windows of
512 tokens of WikiText-2 test) and the same bit accounting: each row is
quantized, then packed by squeeze-pack into the layout its kernels read, and
the true bits per weight are the packed bytes x 8 / weights. Perplexity is
measured on the packed model (its compiled artifact, or with --eval interpreter
the bytecode file itself). With --check-unpacked the
unpacked model (before packing) is evaluated too, and the difference is
recorded. Writes bench/results/quant-llama-12m.json and
docs/quantization-results.md.

    bench/quant_bench.py                      # every row, full evaluation
    bench/quant_bench.py --rows rtn-w4,s10    # a subset
    bench/quant_bench.py --max-windows 32     # quicker, approximate perplexity
    bench/quant_bench.py --check-unpacked     # also evaluate before packing
    bench/quant_bench.py --eval interpreter   # evaluate the module, not an artifact

Each packed model is evaluated by default through a compiled CPU artifact
(s10-compile, then s10-run): 70 s for the 1:8 salience row where the
interpreter took 590 s.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CAL = "calib={data}/wikitext-2/valid.txt nsamples=128 seqlen=512 seed=0"
PAPER = "diag=hinv range-delta=false "

# name -> (method description, squeeze10-quantize options or None for fp16,
# squeeze-pack options; default: layout=auto params=f16)
ROWS = [
    ("fp16", "fp16 weights (the model)", None),
    ("rtn-w4", "RTN w4 g128", "method=rtn bits=4"),
    ("rtn-w3", "RTN w3 g128", "method=rtn bits=3"),
    ("rtn-w2", "RTN w2 g128", "method=rtn bits=2"),
    ("rtn-w1", "binary g128, alpha sign(w - mu) + mu", "method=binary"),
    ("gptq-w4", "GPTQ w4 g128", "method=gptq bits=4 " + CAL),
    ("gptq-w3", "GPTQ w3 g128", "method=gptq bits=3 " + CAL),
    ("gptq-w2", "GPTQ w2 g128", "method=gptq bits=2 " + CAL),
    ("gptq-w2-act", "GPTQ w2 g128 act-order", "method=gptq bits=2 act-order=true " + CAL),
    ("pbllm-4", "PB-LLM 20% salient at 4 bits", "method=pbllm bits=4 ratio=0.2 " + CAL),
    ("pbllm-8", "PB-LLM 10% salient at 8 bits", "method=pbllm bits=8 ratio=0.1 " + CAL),
    # The default: V over diag chol(H^-1), B as the change of the range.
    ("s10", "Squeeze10 default (4-bit stage 1, r = 0.2, PBAR, FIAS)", CAL),
    ("s10-no-pbar", "Squeeze10 -PBAR", "pbar=false " + CAL),
    ("s10-no-fias", "Squeeze10 -FIAS", "fias=false " + CAL),
    ("s10-no-staged", "Squeeze10 -staged", "staged=false " + CAL),
    ("s10-no-pbar-no-fias", "Squeeze10 -PBAR -FIAS", "pbar=false fias=false " + CAL),
    # The paper's formulas as printed (Eq. 5 with diag H^-1, Eq. 7's B).
    ("s10-paper", "Squeeze10, paper formulas (Eq. 5 hinv, Eq. 7 B, lambda 3e-4)", PAPER + CAL),
    ("s10-paper-no-pbar", "paper formulas -PBAR", "diag=hinv pbar=false " + CAL),
    ("s10-paper-no-fias", "paper formulas -FIAS", PAPER + "fias=false " + CAL),
    ("s10-paper-no-staged", "paper formulas -staged", PAPER + "staged=false " + CAL),
    ("s10-paper-no-pbar-no-fias", "paper formulas -PBAR -FIAS", "diag=hinv pbar=false fias=false " + CAL),
    ("s10-ibits2", "paper formulas, intermediate 2 bits", PAPER + "bits=2 " + CAL),
    ("s10-ibits3", "paper formulas, intermediate 3 bits", PAPER + "bits=3 " + CAL),
    ("s10-ibits5", "paper formulas, intermediate 5 bits", PAPER + "bits=5 " + CAL),
    ("s10-ibits6", "paper formulas, intermediate 6 bits", PAPER + "bits=6 " + CAL),
    ("s10-ibits7", "paper formulas, intermediate 7 bits", PAPER + "bits=7 " + CAL),
    ("s10-ibits8", "paper formulas, intermediate 8 bits", PAPER + "bits=8 " + CAL),
    ("s10-norm", "paper formulas, scale-free lambda (V, B / layer mean)", PAPER + "normalize=true lambda=1.0 " + CAL),
    ("s10-row", "paper formulas, salient per row", PAPER + "granularity=row " + CAL),
    ("s10-group", "paper formulas, salient per group", PAPER + "granularity=group " + CAL),
    ("s10-channel", "paper formulas, salient whole channels", PAPER + "granularity=channel " + CAL),
    ("s10-chol", "paper formulas, V with diag chol(H^-1)", "diag=chol range-delta=false " + CAL),
    ("s10-act", "paper formulas + act-order", PAPER + "act-order=true " + CAL),
    ("s10-fixed-bin", "paper formulas, alpha/mu fixed from stage 1", PAPER + "refit-binary=false " + CAL),
    # Layouts of the default recipe (docs/packed-layouts.md).
    ("s10-q8", "Squeeze10 default, bitmap layout with q8 group parameters", CAL, "params=q8"),
    ("s10-chanblock16", "Squeeze10, salient channels shared by 16 rows (chanblock layout)",
     "granularity=channel channel-block=16 " + CAL, "layout=chanblock block=16"),
    ("s10-nm8", "Squeeze10, 1 salient of every 8 inputs (nm layout)",
     "granularity=nm nm-block=8 ratio=0.125 " + CAL, "layout=nm block=8"),
    ("s10-nm8-q8", "Squeeze10, 1:8 salience, q8 group parameters",
     "granularity=nm nm-block=8 ratio=0.125 " + CAL, "layout=nm block=8 params=q8"),
    # Candidates for the budget recipes: q8 group parameters throughout.
    ("s10-q8-r10", "Squeeze10, 10% salient (bitmap), q8 group parameters",
     "ratio=0.1 " + CAL, "params=q8"),
    ("s10-nm4-q8", "Squeeze10, 1:4 salience, q8 group parameters",
     "granularity=nm nm-block=4 ratio=0.25 " + CAL, "layout=nm block=4 params=q8"),
    ("s10-nm4-s3-q8", "Squeeze10, 1:4 salience at 3 bits, q8 group parameters",
     "granularity=nm nm-block=4 ratio=0.25 bits=3 " + CAL, "layout=nm block=4 params=q8"),
    ("s10-nm8-s3-q8", "Squeeze10, 1:8 salience at 3 bits, q8 group parameters",
     "granularity=nm nm-block=8 ratio=0.125 bits=3 " + CAL, "layout=nm block=8 params=q8"),
    ("s10-nm16-q8", "Squeeze10, 1:16 salience, q8 group parameters",
     "granularity=nm nm-block=16 ratio=0.0625 " + CAL, "layout=nm block=16 params=q8"),
    ("s10-nm16-q8-g256", "Squeeze10, 1:16 salience, q8 group parameters, groups of 256",
     "granularity=nm nm-block=16 ratio=0.0625 group-size=256 " + CAL, "layout=nm block=16 params=q8"),
    ("s10-nm8-s3-q8-g256", "Squeeze10, 1:8 salience at 3 bits, q8 parameters, groups of 256",
     "granularity=nm nm-block=8 ratio=0.125 bits=3 group-size=256 " + CAL,
     "layout=nm block=8 params=q8"),
    ("s10-nm8-q8-g256", "Squeeze10, 1:8 salience, q8 group parameters, groups of 256",
     "granularity=nm nm-block=8 ratio=0.125 group-size=256 " + CAL, "layout=nm block=8 params=q8"),
    ("s10-nm4-q8-g256", "Squeeze10, 1:4 salience, q8 group parameters, groups of 256",
     "granularity=nm nm-block=4 ratio=0.25 group-size=256 " + CAL, "layout=nm block=4 params=q8"),
    ("gptq-w2-act-q8", "GPTQ w2 g128 act-order, q8 group parameters",
     "method=gptq bits=2 act-order=true " + CAL, "params=q8"),
    # Group parameters refit for the output error after GPTQ (codes kept).
    ("s10-refit", "Squeeze10 default + output refit", "output-refit=true " + CAL),
    ("s10-q8-refit", "Squeeze10 default + output refit, q8 group parameters",
     "output-refit=true " + CAL, "params=q8"),
    ("s10-nm4-q8-refit", "Squeeze10, 1:4 salience, q8 parameters + output refit",
     "granularity=nm nm-block=4 ratio=0.25 output-refit=true " + CAL,
     "layout=nm block=4 params=q8"),
    ("s10-nm8-q8-refit", "Squeeze10, 1:8 salience, q8 parameters + output refit",
     "granularity=nm nm-block=8 ratio=0.125 output-refit=true " + CAL,
     "layout=nm block=8 params=q8"),
    ("s10-nm16-q8-g256-refit", "Squeeze10, 1:16 salience, q8 parameters, groups of 256 + output refit",
     "granularity=nm nm-block=16 ratio=0.0625 group-size=256 output-refit=true " + CAL,
     "layout=nm block=16 params=q8"),
    ("s10-nm8-s3-q8-g256-refit", "Squeeze10, 1:8 salience at 3 bits, q8, groups of 256 + output refit",
     "granularity=nm nm-block=8 ratio=0.125 bits=3 group-size=256 output-refit=true " + CAL,
     "layout=nm block=8 params=q8"),
    ("s10-nm8-q8-g256-refit", "Squeeze10, 1:8 salience, q8, groups of 256 + output refit",
     "granularity=nm nm-block=8 ratio=0.125 group-size=256 output-refit=true " + CAL,
     "layout=nm block=8 params=q8"),
    ("s10-nm4-q8-g256-refit", "Squeeze10, 1:4 salience, q8, groups of 256 + output refit",
     "granularity=nm nm-block=4 ratio=0.25 group-size=256 output-refit=true " + CAL,
     "layout=nm block=4 params=q8"),
    ("s10-nm4-s3-q8-refit", "Squeeze10, 1:4 salience at 3 bits, q8 + output refit",
     "granularity=nm nm-block=4 ratio=0.25 bits=3 output-refit=true " + CAL,
     "layout=nm block=4 params=q8"),
    # Bit allocation by role: attention v (3 % of the weights) at 2:8.
    ("s10-nm8-q8-g256-v2", "Squeeze10, 1:8 salience (v 2:8), q8, groups of 256 + output refit",
     "granularity=nm nm-block=8 ratio=0.125 role-ratio=v:0.25 group-size=256 output-refit=true " + CAL,
     "layout=nm block=8 params=q8"),
    ("s10-nm8-s3-q8-g256-v2", "Squeeze10, 1:8 salience at 3 bits (v 2:8), q8, groups of 256 + output refit",
     "granularity=nm nm-block=8 ratio=0.125 bits=3 role-ratio=v:0.25 group-size=256 output-refit=true " + CAL,
     "layout=nm block=8 params=q8"),
    ("gptq-w2-act-q8-refit", "GPTQ w2 g128 act-order, q8 parameters + output refit",
     "method=gptq bits=2 act-order=true output-refit=true " + CAL, "params=q8"),
    ("gptq-w2-act-q8-g256-refit", "GPTQ w2 g256 act-order, q8 parameters + output refit",
     "method=gptq bits=2 group-size=256 act-order=true output-refit=true " + CAL, "params=q8"),
    ("gptq-w2-act-q8-g64-refit", "GPTQ w2 g64 act-order, q8 parameters + output refit",
     "method=gptq bits=2 group-size=64 act-order=true output-refit=true " + CAL, "params=q8"),
    ("gptq-w2-act-q8-g32-refit", "GPTQ w2 g32 act-order, q8 parameters + output refit",
     "method=gptq bits=2 group-size=32 act-order=true output-refit=true " + CAL, "params=q8"),
    ("gptq-w3-act-q8-g256-refit", "GPTQ w3 g256 act-order, q8 parameters + output refit",
     "method=gptq bits=3 group-size=256 act-order=true output-refit=true " + CAL, "params=q8"),
    ("s10-nm16-q8-g256-v2", "Squeeze10, 1:16 salience (v 2:16), q8, groups of 256 + output refit",
     "granularity=nm nm-block=16 ratio=0.0625 role-ratio=v:0.125 group-size=256 output-refit=true " + CAL,
     "layout=nm block=16 params=q8"),
    # Three rounds of GPTQ and refit, each after the first with the previous
    # round's parameters fixed.
    ("gptq-w2-act-q8-refit3", "GPTQ w2 g128 act-order, q8 + 3 rounds of GPTQ and refit",
     "method=gptq bits=2 act-order=true output-refit=true refit-rounds=3 " + CAL, "params=q8"),
    ("gptq-w2-act-q8-g64-refit3", "GPTQ w2 g64 act-order, q8 + 3 rounds of GPTQ and refit",
     "method=gptq bits=2 group-size=64 act-order=true output-refit=true refit-rounds=3 " + CAL,
     "params=q8"),
    ("gptq-w2-act-q8-g32-refit3", "GPTQ w2 g32 act-order, q8 + 3 rounds of GPTQ and refit",
     "method=gptq bits=2 group-size=32 act-order=true output-refit=true refit-rounds=3 " + CAL,
     "params=q8"),
    ("s10-nm8-s3-q8-g256-v2-refit3", "Squeeze10, 1:8 at 3 bits (v 2:8), q8, g256 + 3 rounds of GPTQ and refit",
     "granularity=nm nm-block=8 ratio=0.125 bits=3 role-ratio=v:0.25 group-size=256 output-refit=true "
     "refit-rounds=3 " + CAL, "layout=nm block=8 params=q8"),
    ("s10-nm16-q8-g256-v2-refit3", "Squeeze10, 1:16 (v 2:16), q8, g256 + 3 rounds of GPTQ and refit",
     "granularity=nm nm-block=16 ratio=0.0625 role-ratio=v:0.125 group-size=256 output-refit=true "
     "refit-rounds=3 " + CAL, "layout=nm block=16 params=q8"),
    ("s10-nm8-q8-g256-v2-refit3", "Squeeze10, 1:8 (v 2:8), q8, g256 + 3 rounds of GPTQ and refit",
     "granularity=nm nm-block=8 ratio=0.125 role-ratio=v:0.25 group-size=256 output-refit=true "
     "refit-rounds=3 " + CAL, "layout=nm block=8 params=q8"),
    ("s10-nm8-q8-refit3", "Squeeze10, 1:8, q8 + 3 rounds of GPTQ and refit",
     "granularity=nm nm-block=8 ratio=0.125 output-refit=true refit-rounds=3 " + CAL,
     "layout=nm block=8 params=q8"),
    ("s10-nm4-q8-g256-refit3", "Squeeze10, 1:4, q8, g256 + 3 rounds of GPTQ and refit",
     "granularity=nm nm-block=4 ratio=0.25 group-size=256 output-refit=true refit-rounds=3 " + CAL,
     "layout=nm block=4 params=q8"),
    ("s10-q8-refit3", "Squeeze10 default, q8 + 3 rounds of GPTQ and refit",
     "output-refit=true refit-rounds=3 " + CAL, "params=q8"),
    ("gptq-w3-act-q8-g256-refit3", "GPTQ w3 g256 act-order, q8 + 3 rounds of GPTQ and refit",
     "method=gptq bits=3 group-size=256 act-order=true output-refit=true refit-rounds=3 " + CAL,
     "params=q8"),
    ("gptq-w3-act-q8-refit3", "GPTQ w3 g128 act-order, q8 + 3 rounds of GPTQ and refit",
     "method=gptq bits=3 act-order=true output-refit=true refit-rounds=3 " + CAL, "params=q8"),
    ("gptq-w2-act-q8-g32-refit5", "GPTQ w2 g32 act-order, q8 + 5 rounds of GPTQ and refit",
     "method=gptq bits=2 group-size=32 act-order=true output-refit=true refit-rounds=5 " + CAL,
     "params=q8"),
    ("gptq-w2-act-q8-refit5", "GPTQ w2 g128 act-order, q8 + 5 rounds of GPTQ and refit",
     "method=gptq bits=2 act-order=true output-refit=true refit-rounds=5 " + CAL, "params=q8"),
    ("s10-nm16-q8-g256-v2-refit5", "Squeeze10, 1:16 (v 2:16), q8, g256 + 5 rounds of GPTQ and refit",
     "granularity=nm nm-block=16 ratio=0.0625 role-ratio=v:0.125 group-size=256 output-refit=true "
     "refit-rounds=5 " + CAL, "layout=nm block=16 params=q8"),
    ("gptq-w3-act-q8-refit", "GPTQ w3 g128 act-order, q8 parameters + output refit",
     "method=gptq bits=3 act-order=true output-refit=true " + CAL, "params=q8"),
    # Incoherence: the same recipes on the rotated model (squeeze-rotate).
    ("rtn-w2-rot", "RTN w2 g128, rotated", "method=rtn bits=2 rotate=true seed=0"),
    ("gptq-w2-act-q8-rot", "GPTQ w2 g128 act-order, q8, rotated",
     "method=gptq bits=2 act-order=true rotate=true " + CAL, "params=q8"),
    ("gptq-w2-act-q8-rot-refit", "GPTQ w2 g128 act-order, q8 + output refit, rotated",
     "method=gptq bits=2 act-order=true output-refit=true rotate=true " + CAL, "params=q8"),
    ("s10-nm8-q8-rot-refit", "Squeeze10, 1:8, q8 + output refit, rotated",
     "granularity=nm nm-block=8 ratio=0.125 output-refit=true rotate=true " + CAL,
     "layout=nm block=8 params=q8"),
    ("s10-q8-rot", "Squeeze10 default, q8, rotated", "rotate=true " + CAL, "params=q8"),
    ("gptq-w2-rot", "GPTQ w2 g128, rotated", "method=gptq bits=2 rotate=true " + CAL),
    ("gptq-w3-act-q8-rot-refit", "GPTQ w3 g128 act-order, q8 + output refit, rotated",
     "method=gptq bits=3 act-order=true output-refit=true rotate=true " + CAL, "params=q8"),
    ("s10-q8-rot-refit3", "Squeeze10 default, q8 + 3 rounds of GPTQ and refit, rotated",
     "output-refit=true refit-rounds=3 rotate=true " + CAL, "params=q8"),
    # Bits by role: 2-bit GPTQ with the roles the output depends on most at 3 bits.
    ("gptq-w2-v3-down3-refit3", "GPTQ w2 g128 act-order, v and down w3, q8 + 3 rounds of GPTQ and refit",
     "method=gptq bits=2 role-bits=v:3,down:3 act-order=true output-refit=true refit-rounds=3 " + CAL,
     "params=q8"),
    ("gptq-w2-g64-v3-down3-refit3", "GPTQ w2 g64 act-order, v and down w3 g128, q8 + 3 rounds of GPTQ and refit",
     "method=gptq bits=2 group-size=64 role-bits=v:3,down:3 role-group-size=v:128,down:128 act-order=true "
     "output-refit=true refit-rounds=3 " + CAL, "params=q8"),
    ("gptq-w2-v3-o3-down3-refit3", "GPTQ w2 g128 act-order, v, o and down w3, q8 + 3 rounds of GPTQ and refit",
     "method=gptq bits=2 role-bits=v:3,o:3,down:3 act-order=true output-refit=true refit-rounds=3 " + CAL,
     "params=q8"),
    ("gptq-w2-g64-v3-down3-refit5", "GPTQ w2 g64 act-order, v and down w3 g128, q8 + 5 rounds of GPTQ and refit",
     "method=gptq bits=2 group-size=64 role-bits=v:3,down:3 role-group-size=v:128,down:128 act-order=true "
     "output-refit=true refit-rounds=5 " + CAL, "params=q8"),
    ("gptq-w2-g64-v4-down3-refit3", "GPTQ w2 g64 act-order, v w4 g128, down w3 g128, q8 + 3 rounds of GPTQ and refit",
     "method=gptq bits=2 group-size=64 role-bits=v:4,down:3 role-group-size=v:128,down:128 act-order=true "
     "output-refit=true refit-rounds=3 " + CAL, "params=q8"),
    ("gptq-w2-g64-k3-v3-down3-refit3", "GPTQ w2 g64 act-order, k, v and down w3 g128, q8 + 3 rounds of GPTQ and refit",
     "method=gptq bits=2 group-size=64 role-bits=k:3,v:3,down:3 role-group-size=k:128,v:128,down:128 "
     "act-order=true output-refit=true refit-rounds=3 " + CAL, "params=q8"),
    ("gptq-w2-g64-v3-down3-g256-refit3", "GPTQ w2 g64 act-order, v and down w3 g256, q8 + 3 rounds of GPTQ and refit",
     "method=gptq bits=2 group-size=64 role-bits=v:3,down:3 role-group-size=v:256,down:256 act-order=true "
     "output-refit=true refit-rounds=3 " + CAL, "params=q8"),
    ("gptq-w2-g64-v4-down3-refit5", "GPTQ w2 g64 act-order, v w4 g128, down w3 g128, q8 + 5 rounds of GPTQ and refit",
     "method=gptq bits=2 group-size=64 role-bits=v:4,down:3 role-group-size=v:128,down:128 act-order=true "
     "output-refit=true refit-rounds=5 " + CAL, "params=q8"),
    ("gptq-w2-gu128-o3-v3-down3-refit3",
     "GPTQ w2 act-order, g64 (gate, up g128), o, v and down w3 g128, q8 + 3 rounds of GPTQ and refit",
     "method=gptq bits=2 group-size=64 role-bits=o:3,v:3,down:3 "
     "role-group-size=gate:128,up:128,o:128,v:128,down:128 act-order=true "
     "output-refit=true refit-rounds=3 " + CAL, "params=q8"),
    ("s10-nm8-q8-g256-v2-refit5", "Squeeze10, 1:8 (v 2:8), q8, g256 + 5 rounds of GPTQ and refit",
     "granularity=nm nm-block=8 ratio=0.125 role-ratio=v:0.25 group-size=256 output-refit=true "
     "refit-rounds=5 " + CAL, "layout=nm block=8 params=q8"),
    ("s10-nm8-s3-q8-g256-v2-refit5", "Squeeze10, 1:8 at 3 bits (v 2:8), q8, g256 + 5 rounds of GPTQ and refit",
     "granularity=nm nm-block=8 ratio=0.125 bits=3 role-ratio=v:0.25 group-size=256 output-refit=true "
     "refit-rounds=5 " + CAL, "layout=nm block=8 params=q8"),
    ("s10-nm8-q8-g256-v2-d0-refit5", "Squeeze10, 1:8 (v and block 0's down 2:8), q8, g256 + 5 rounds of GPTQ and refit",
     "granularity=nm nm-block=8 ratio=0.125 role-ratio=v:0.25,down.0:0.25 group-size=256 output-refit=true "
     "refit-rounds=5 " + CAL, "layout=nm block=8 params=q8"),
    ("s10-nm8-q8-g256-d0-refit5", "Squeeze10, 1:8 (block 0's down 2:8), q8, g256 + 5 rounds of GPTQ and refit",
     "granularity=nm nm-block=8 ratio=0.125 role-ratio=down.0:0.25 group-size=256 output-refit=true "
     "refit-rounds=5 " + CAL, "layout=nm block=8 params=q8"),
    ("s10-nm16-q8-g256-d0-refit5", "Squeeze10, 1:16 (block 0's down 2:16), q8, g256 + 5 rounds of GPTQ and refit",
     "granularity=nm nm-block=16 ratio=0.0625 role-ratio=down.0:0.125 group-size=256 output-refit=true "
     "refit-rounds=5 " + CAL, "layout=nm block=16 params=q8"),
    ("gptq-w2-v4-down3-d0b4-refit5", "GPTQ w2 g128 act-order, v w4, down w3 (block 0's w4), q8 + 5 rounds of GPTQ and refit",
     "method=gptq bits=2 role-bits=v:4,down:3,down.0:4 act-order=true output-refit=true refit-rounds=5 " + CAL,
     "params=q8"),
    ("gptq-w2-g64-gu128-v4-down3-d0b4-refit5",
     "GPTQ w2 act-order, g64 (gate, up g128), v w4, down w3 (block 0's w4) g128, q8 + 5 rounds of GPTQ and refit",
     "method=gptq bits=2 group-size=64 role-bits=v:4,down:3,down.0:4 "
     "role-group-size=gate:128,up:128,v:128,down:128 act-order=true output-refit=true refit-rounds=5 " + CAL,
     "params=q8"),
    ("s10-nm8-s3-q8-g256-v2-d0-refit5",
     "Squeeze10, 1:8 at 3 bits (v and block 0's down 2:8), q8, g256 + 5 rounds of GPTQ and refit",
     "granularity=nm nm-block=8 ratio=0.125 bits=3 role-ratio=v:0.25,down.0:0.25 group-size=256 "
     "output-refit=true refit-rounds=5 " + CAL, "layout=nm block=8 params=q8"),
    ("s10-nm16-q8-g256-v2-d0-refit5",
     "Squeeze10, 1:16 (v and block 0's down 2:16), q8, g256 + 5 rounds of GPTQ and refit",
     "granularity=nm nm-block=16 ratio=0.0625 role-ratio=v:0.125,down.0:0.125 group-size=256 "
     "output-refit=true refit-rounds=5 " + CAL, "layout=nm block=16 params=q8"),
    # Clipped group ranges (clip-norm=2.4: the least sum of |w - q|^2.4).
    ("gptq-w2-act-q8-clip", "GPTQ w2 g128 act-order, q8, clipped ranges (norm 2.4)",
     "method=gptq bits=2 act-order=true clip-norm=2.4 " + CAL, "params=q8"),
    ("rtn-w2-clip", "RTN w2 g128, clipped ranges (norm 2.4)", "method=rtn bits=2 clip-norm=2.4"),
    ("gptq-w2-act-q8-refit5-clip", "GPTQ w2 g128 act-order, q8, clipped ranges (norm 2.4) + 5 rounds of GPTQ and refit",
     "method=gptq bits=2 act-order=true clip-norm=2.4 output-refit=true refit-rounds=5 " + CAL, "params=q8"),
    ("gptq-w3-act-q8-g256-refit3-clip",
     "GPTQ w3 g256 act-order, q8, clipped ranges (norm 2.4) + 3 rounds of GPTQ and refit",
     "method=gptq bits=3 group-size=256 act-order=true clip-norm=2.4 output-refit=true refit-rounds=3 " + CAL,
     "params=q8"),
    ("gptq-w2-g64-v4-down3-refit5-clip",
     "GPTQ w2 g64 act-order, v w4 g128, down w3 g128, q8, clipped ranges (norm 2.4) + 5 rounds of GPTQ and refit",
     "method=gptq bits=2 group-size=64 role-bits=v:4,down:3 role-group-size=v:128,down:128 act-order=true "
     "clip-norm=2.4 output-refit=true refit-rounds=5 " + CAL, "params=q8"),
    ("gptq-w2-v4-down3-d0b4-refit5-clip",
     "GPTQ w2 g128 act-order, v w4, down w3 (block 0's w4), q8, clipped ranges (norm 2.4) + 5 rounds of GPTQ and refit",
     "method=gptq bits=2 role-bits=v:4,down:3,down.0:4 act-order=true clip-norm=2.4 output-refit=true "
     "refit-rounds=5 " + CAL, "params=q8"),
    ("gptq-w2-g64-v4-down3-refit5-clip2",
     "GPTQ w2 g64 act-order, v w4 g128, down w3 g128, q8, clipped ranges (norm 2) + 5 rounds of GPTQ and refit",
     "method=gptq bits=2 group-size=64 role-bits=v:4,down:3 role-group-size=v:128,down:128 act-order=true "
     "clip-norm=2 output-refit=true refit-rounds=5 " + CAL, "params=q8"),
    ("gptq-w2-g64-v4-down3-refit5-clip3",
     "GPTQ w2 g64 act-order, v w4 g128, down w3 g128, q8, clipped ranges (norm 3) + 5 rounds of GPTQ and refit",
     "method=gptq bits=2 group-size=64 role-bits=v:4,down:3 role-group-size=v:128,down:128 act-order=true "
     "clip-norm=3 output-refit=true refit-rounds=5 " + CAL, "params=q8"),
    ("gptq-w2-g64-v3-down3-refit5-clip",
     "GPTQ w2 g64 act-order, v and down w3 g128, q8, clipped ranges (norm 2.4) + 5 rounds of GPTQ and refit",
     "method=gptq bits=2 group-size=64 role-bits=v:3,down:3 role-group-size=v:128,down:128 act-order=true "
     "clip-norm=2.4 output-refit=true refit-rounds=5 " + CAL, "params=q8"),
    ("gptq-w3-act-q8-g256-refit3-clip2",
     "GPTQ w3 g256 act-order, q8, clipped ranges (norm 2) + 3 rounds of GPTQ and refit",
     "method=gptq bits=3 group-size=256 act-order=true clip-norm=2 output-refit=true refit-rounds=3 " + CAL,
     "params=q8"),
    ("gptq-w3-act-q8-refit3-clip2",
     "GPTQ w3 g128 act-order, q8, clipped ranges (norm 2) + 3 rounds of GPTQ and refit",
     "method=gptq bits=3 act-order=true clip-norm=2 output-refit=true refit-rounds=3 " + CAL, "params=q8"),
    ("gptq-w2-act-q8-refit5-clip2",
     "GPTQ w2 g128 act-order, q8, clipped ranges (norm 2) + 5 rounds of GPTQ and refit",
     "method=gptq bits=2 act-order=true clip-norm=2 output-refit=true refit-rounds=5 " + CAL, "params=q8"),
    ("gptq-w2-g64-act-q8-refit3-clip2",
     "GPTQ w2 g64 act-order, q8, clipped ranges (norm 2) + 3 rounds of GPTQ and refit",
     "method=gptq bits=2 group-size=64 act-order=true clip-norm=2 output-refit=true refit-rounds=3 " + CAL,
     "params=q8"),
    ("gptq-w2-v3-down3-refit3-clip2",
     "GPTQ w2 g128 act-order, v and down w3, q8, clipped ranges (norm 2) + 3 rounds of GPTQ and refit",
     "method=gptq bits=2 role-bits=v:3,down:3 act-order=true clip-norm=2 output-refit=true refit-rounds=3 "
     + CAL, "params=q8"),
    ("gptq-w2-v4-down3-d0b4-refit5-clip2",
     "GPTQ w2 g128 act-order, v w4, down w3 (block 0's w4), q8, clipped ranges (norm 2) + 5 rounds of GPTQ "
     "and refit",
     "method=gptq bits=2 role-bits=v:4,down:3,down.0:4 act-order=true clip-norm=2 output-refit=true "
     "refit-rounds=5 " + CAL, "params=q8"),
    ("gptq-w2-g64-v3-down3-refit5-clip2",
     "GPTQ w2 g64 act-order, v and down w3 g128, q8, clipped ranges (norm 2) + 5 rounds of GPTQ and refit",
     "method=gptq bits=2 group-size=64 role-bits=v:3,down:3 role-group-size=v:128,down:128 act-order=true "
     "clip-norm=2 output-refit=true refit-rounds=5 " + CAL, "params=q8"),
    ("s10-nm8-q8-g256-d0-refit5-clip2",
     "Squeeze10, 1:8 (block 0's down 2:8), q8, g256, clipped stage-1 ranges (norm 2) + 5 rounds of GPTQ and refit",
     "granularity=nm nm-block=8 ratio=0.125 role-ratio=down.0:0.25 group-size=256 clip-norm=2 output-refit=true "
     "refit-rounds=5 " + CAL, "layout=nm block=8 params=q8"),
    ("s10-nm16-q8-g256-d0-refit5-clip2",
     "Squeeze10, 1:16 (block 0's down 2:16), q8, g256, clipped stage-1 ranges (norm 2) + 5 rounds of GPTQ and refit",
     "granularity=nm nm-block=16 ratio=0.0625 role-ratio=down.0:0.125 group-size=256 clip-norm=2 output-refit=true "
     "refit-rounds=5 " + CAL, "layout=nm block=16 params=q8"),
    # One pair of super-scales per tensor (q8t) instead of per row.
    ("gptq-w2-q8t-refit5-clip2",
     "GPTQ w2 g128 act-order, q8t, clipped ranges (norm 2) + 5 rounds of GPTQ and refit",
     "method=gptq bits=2 act-order=true clip-norm=2 output-refit=true refit-rounds=5 " + CAL, "params=q8t"),
    ("gptq-w2-q8t-g192-down256-refit5-clip2",
     "GPTQ w2 g192 (down g256) act-order, q8t, clipped ranges (norm 2) + 5 rounds of GPTQ and refit",
     "method=gptq bits=2 group-size=192 role-group-size=down:256 act-order=true clip-norm=2 output-refit=true "
     "refit-rounds=5 " + CAL, "params=q8t"),
    ("gptq-w2-q8t-gu192-down256-refit5-clip2",
     "GPTQ w2 g128 (gate, up g192, down g256) act-order, q8t, clipped ranges (norm 2) + 5 rounds of GPTQ and refit",
     "method=gptq bits=2 role-group-size=gate:192,up:192,down:256 act-order=true clip-norm=2 output-refit=true "
     "refit-rounds=5 " + CAL, "params=q8t"),
    ("s10-nm8-s3-q8t-g384-v2-refit5",
     "Squeeze10, 1:8 at 3 bits (v 2:8), q8t, groups of 384 + 5 rounds of GPTQ and refit",
     "granularity=nm nm-block=8 ratio=0.125 bits=3 role-ratio=v:0.25 group-size=384 output-refit=true "
     "refit-rounds=5 " + CAL, "layout=nm block=8 params=q8t"),
    ("s10-nm16-q8t-g256-v2-d0-refit5",
     "Squeeze10, 1:16 (v and block 0's down 2:16), q8t, g256 + 5 rounds of GPTQ and refit",
     "granularity=nm nm-block=16 ratio=0.0625 role-ratio=v:0.125,down.0:0.125 group-size=256 output-refit=true refit-rounds=5 " + CAL, "layout=nm block=16 params=q8t"),
    ("s10-nm8-s3-q8t-g256-v2-d0-refit5",
     "Squeeze10, 1:8 at 3 bits (v and block 0's down 2:8), q8t, g256 + 5 rounds of GPTQ and refit",
     "granularity=nm nm-block=8 ratio=0.125 bits=3 role-ratio=v:0.25,down.0:0.25 group-size=256 output-refit=true refit-rounds=5 " + CAL, "layout=nm block=8 params=q8t"),
    ("s10-nm8-q8t-g256-d0-refit5",
     "Squeeze10, 1:8 (block 0's down 2:8), q8t, g256 + 5 rounds of GPTQ and refit",
     "granularity=nm nm-block=8 ratio=0.125 role-ratio=down.0:0.25 group-size=256 output-refit=true refit-rounds=5 " + CAL, "layout=nm block=8 params=q8t"),
    ("gptq-w2-g64-q8t-refit3-clip2",
     "GPTQ w2 g64 act-order, q8t, clipped ranges (norm 2) + 3 rounds of GPTQ and refit",
     "method=gptq bits=2 group-size=64 act-order=true clip-norm=2 output-refit=true refit-rounds=3 " + CAL, "params=q8t"),
    ("gptq-w2-v3-down3-q8t-refit3-clip2",
     "GPTQ w2 g128 act-order, v and down w3, q8t, clipped ranges (norm 2) + 3 rounds of GPTQ and refit",
     "method=gptq bits=2 role-bits=v:3,down:3 act-order=true clip-norm=2 output-refit=true refit-rounds=3 " + CAL, "params=q8t"),
    ("gptq-w2-g64-v4-down3-q8t-refit5-clip2",
     "GPTQ w2 g64 act-order, v w4 and down w3 g128, q8t, clipped ranges (norm 2) + 5 rounds of GPTQ and refit",
     "method=gptq bits=2 group-size=64 role-bits=v:4,down:3 role-group-size=v:128,down:128 act-order=true clip-norm=2 output-refit=true refit-rounds=5 " + CAL, "params=q8t"),
    ("gptq-w3-g256-q8t-refit3-clip2",
     "GPTQ w3 g256 act-order, q8t, clipped ranges (norm 2) + 3 rounds of GPTQ and refit",
     "method=gptq bits=3 group-size=256 act-order=true clip-norm=2 output-refit=true refit-rounds=3 " + CAL, "params=q8t"),
    ("s10-nm8-s3-q8t-g384-d0-refit5",
     "Squeeze10, 1:8 at 3 bits (block 0's down 2:8), q8t, groups of 384 + 5 rounds of GPTQ and refit",
     "granularity=nm nm-block=8 ratio=0.125 bits=3 role-ratio=down.0:0.25 group-size=384 output-refit=true "
     "refit-rounds=5 " + CAL, "layout=nm block=8 params=q8t"),
    ("s10-nm8-s3-q8t-g1024-v2-d0-refit5",
     "Squeeze10, 1:8 at 3 bits (v and block 0's down 2:8), q8t, groups of whole rows + 5 rounds of GPTQ and refit",
     "granularity=nm nm-block=8 ratio=0.125 bits=3 role-ratio=v:0.25,down.0:0.25 group-size=1024 "
     "output-refit=true refit-rounds=5 " + CAL, "layout=nm block=8 params=q8t"),
    # Ternary codes (three levels per group, five codes per byte: 1.6 bits).
    ("gptq-t-g128-q8t-refit5-clip2",
     "GPTQ ternary g128 act-order, q8t, clipped ranges (norm 2) + 5 rounds of GPTQ and refit",
     "method=gptq bits=2 ternary=true act-order=true clip-norm=2 output-refit=true refit-rounds=5 group-size=128 " + CAL, "params=q8t"),
    ("gptq-t-g192-q8t-refit5-clip2",
     "GPTQ ternary g192 act-order, q8t, clipped ranges (norm 2) + 5 rounds of GPTQ and refit",
     "method=gptq bits=2 ternary=true act-order=true clip-norm=2 output-refit=true refit-rounds=5 group-size=192 " + CAL, "params=q8t"),
    ("gptq-t-g256-q8t-refit5-clip2",
     "GPTQ ternary g256 act-order, q8t, clipped ranges (norm 2) + 5 rounds of GPTQ and refit",
     "method=gptq bits=2 ternary=true act-order=true clip-norm=2 output-refit=true refit-rounds=5 group-size=256 " + CAL, "params=q8t"),
    ("gptq-t-g384-q8t-refit5-clip2",
     "GPTQ ternary g384 act-order, q8t, clipped ranges (norm 2) + 5 rounds of GPTQ and refit",
     "method=gptq bits=2 ternary=true act-order=true clip-norm=2 output-refit=true refit-rounds=5 group-size=384 " + CAL, "params=q8t"),
    ("gptq-t-g64-q8t-refit5-clip2",
     "GPTQ ternary g64 act-order, q8t, clipped ranges (norm 2) + 5 rounds of GPTQ and refit",
     "method=gptq bits=2 ternary=true act-order=true clip-norm=2 output-refit=true refit-rounds=5 group-size=64 " + CAL, "params=q8t"),
    ("gptq-t-g192-v3-q8t-refit5-clip2",
     "GPTQ ternary g192 act-order, v w3 g128, q8t, clipped ranges (norm 2) + 5 rounds of GPTQ and refit",
     "method=gptq bits=2 ternary=true act-order=true clip-norm=2 output-refit=true refit-rounds=5 group-size=192 role-bits=v:3 role-group-size=v:128 " + CAL, "params=q8t"),
    ("gptq-t-g192-d0w3-q8t-refit5-clip2",
     "GPTQ ternary g192 act-order, block 0's down w3 g256, q8t, clipped ranges (norm 2) + 5 rounds of GPTQ and refit",
     "method=gptq bits=2 ternary=true act-order=true clip-norm=2 output-refit=true refit-rounds=5 group-size=192 role-bits=down.0:3 role-group-size=down.0:256 " + CAL, "params=q8t"),
    ("gptq-t-g128-down3-q8t-refit5-clip2",
     "GPTQ ternary g128 act-order, down w3 g256, q8t, clipped ranges (norm 2) + 5 rounds of GPTQ and refit",
     "method=gptq bits=2 ternary=true act-order=true clip-norm=2 output-refit=true refit-rounds=5 group-size=128 role-bits=down:3 role-group-size=down:256 " + CAL, "params=q8t"),
]
ROWS = [r if len(r) == 4 else r + ("",) for r in ROWS]
# Rows without a method are Squeeze10's: say so, since squeeze10-quantize
# with no option that shapes the result runs its default recipe instead.
ROWS = [(n, d, o if o is None or "method=" in o else "method=squeeze10 " + o, p)
        for n, d, o, p in ROWS]


def run(cmd, log):
    log.write("$ " + " ".join(cmd) + "\n")
    log.flush()
    start = time.time()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log.write(proc.stdout)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:])
        raise SystemExit("command failed: " + " ".join(cmd))
    return time.time() - start


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"), help="build directory")
    ap.add_argument("--rows", default="", help="comma-separated row names (default: all)")
    ap.add_argument("--max-windows", type=int, default=0, help="evaluate at most this many windows (0: all 863)")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "quant-llama-12m.json"))
    ap.add_argument("--table", default=os.path.join(ROOT, "docs", "quantization-results.md"))
    ap.add_argument("--plot", default=os.path.join(ROOT, "docs", "pareto-llama-12m.png"))
    ap.add_argument("--plot-only", action="store_true",
                    help="redraw the plot from --out and exit (nothing is run)")
    ap.add_argument("--list", action="store_true", help="list the rows and exit")
    ap.add_argument("--eval", choices=["artifact", "interpreter"], default="artifact",
                    help="evaluate a compiled CPU artifact (s10-compile, the default; its "
                    "perplexity equals the interpreter's to 0.01) or the module itself")
    ap.add_argument("--check-unpacked", action="store_true",
                    help="also evaluate each model before packing")
    args = ap.parse_args()
    if args.list:
        for name, desc, _, _ in ROWS:
            print(f"{name:22} {desc}")
        return
    if args.plot_only:
        with open(args.out) as f:
            write_plot(json.load(f), args.plot)
        print(f"wrote {args.plot}")
        return

    bindir = os.path.join(args.build, "bin")
    model = os.path.join(ROOT, "models", "llama-12m")
    data = os.path.join(ROOT, "data")
    wanted = [r for r in ROWS if not args.rows or r[0] in args.rows.split(",")]
    if not wanted:
        raise SystemExit("no such rows: " + args.rows)

    work = tempfile.mkdtemp(prefix="s10-bench-")
    log = open(os.path.join(work, "log.txt"), "w")
    print(f"s10 quantization bench: {len(wanted)} rows, work dir {work}", flush=True)
    imported = os.path.join(work, "model.mlir")
    raised = os.path.join(work, "model.raised.mlir")
    run([os.path.join(bindir, "s10-translate"), "--import-onnx", os.path.join(model, "model.onnx"), "-o", imported], log)
    run([os.path.join(bindir, "s10-opt"), imported,
         "--pass-pipeline=builtin.module(func.func(raise-onnx-to-squeeze{remarks=false}),canonicalize,cse)",
         "-o", raised], log)

    results = []
    if os.path.exists(args.out):
        with open(args.out) as f:
            results = [r for r in json.load(f) if r["name"] not in {w[0] for w in wanted}]
    def evaluate(path, tag):
        ppl_json = os.path.join(work, tag + ".ppl.json")
        if args.eval == "artifact" and not tag.endswith(".unpacked"):
            art = os.path.join(work, tag + ".s10")
            run([os.path.join(bindir, "s10-compile"), path, "-o", art, "--quiet"], log)
            path = art
        cmd = [os.path.join(bindir, "s10-run"), path, "--tokenizer", os.path.join(model, "tokenizer.model"),
               "--perplexity", os.path.join(data, "wikitext-2", "test.txt"), "--seqlen", "512", "--json", ppl_json]
        if args.max_windows:
            cmd += ["--max-windows", str(args.max_windows)]
        sec = run(cmd, log)
        with open(ppl_json) as f:
            return json.load(f), sec

    for name, desc, opts, pack in wanted:
        qmodel, report, unpacked = raised, None, None
        qsec = 0.0
        if opts is not None:
            # Quantize without packing, then pack: the same quantization
            # gives both the unpacked and the packed model.
            unpacked = os.path.join(work, name + ".unpacked.mlirbc")
            qmodel = os.path.join(work, name + ".mlirbc")
            report = os.path.join(work, name + ".report.json")
            o = opts.format(data=data) + f" report={report} pack=false"
            qsec = run([os.path.join(bindir, "s10-opt"), raised, f"--squeeze10-quantize={o}",
                        "--emit-bytecode", "-o", unpacked], log)
            p = (pack + f" report={report}").strip()
            qsec += run([os.path.join(bindir, "s10-opt"), unpacked, f"--squeeze-pack={p}",
                         "--emit-bytecode", "-o", qmodel], log)
        ppl, esec = evaluate(qmodel, name)
        row = {"name": name, "method": desc, "options": opts.format(data="data") if opts else "",
               "ppl_wikitext2": round(ppl["perplexity"], 4), "windows": ppl["windows"],
               "quantize_seconds": round(qsec, 2), "eval_seconds": round(esec, 2),
               "eval_tokens_per_second": round(ppl.get("tokens_per_second", 0), 1),
               "evaluated_by": args.eval,
               "measured": time.strftime("%Y-%m-%d")}
        if pack:
            row["pack_options"] = pack
        if unpacked and args.check_unpacked:
            uppl, _ = evaluate(unpacked, name + ".unpacked")
            row["ppl_unpacked"] = round(uppl["perplexity"], 4)
        if report:
            with open(report) as f:
                rep = json.load(f)
            row["payload_bpw"] = round(rep["payload_bpw"], 4)
            row["true_bpw"] = round(rep["true_bpw"], 4)
            row["packed_bytes"] = rep["packed_bytes"]
            row["file_bytes"] = os.path.getsize(qmodel)
            row["layout"] = sorted({l["layout"] for l in rep["layers"]})
            errs = [l["relative_output_error"] for l in rep["layers"] if "relative_output_error" in l]
            if errs:
                row["mean_relative_output_error"] = round(sum(errs) / len(errs), 5)
        else:
            row["payload_bpw"] = 16.0
            row["true_bpw"] = 16.0
        results.append(row)
        extra = f"  unpacked {row['ppl_unpacked']:9.3f}" if "ppl_unpacked" in row else ""
        print(f"{name:22} ppl {row['ppl_wikitext2']:9.3f}{extra}  payload {row['payload_bpw']:6.3f}  "
              f"true {row['true_bpw']:6.3f} bpw  quantize {qsec:6.1f}s  eval {esec:6.1f}s", flush=True)
        order = {r[0]: i for i, r in enumerate(ROWS)}
        results.sort(key=lambda r: order.get(r["name"], 999))
        os.makedirs(os.path.dirname(args.out), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)
            f.write("\n")
    write_table(results, args.table, args.max_windows)
    write_plot(results, args.plot)
    print(f"wrote {args.out}, {args.table} and {args.plot}")


# Rows of the default recipe (its ablations and layouts); other s10- rows
# are the paper's formulas and their variants.
S10_DEFAULT = ("s10-no-", "s10-q8", "s10-chanblock", "s10-nm", "s10-refit")
# Curve families for the plot: (label, row-name test, colour, marker).
FAMILIES = [
    ("RTN (w4, w3, w2; binary)", lambda n: n.startswith("rtn-"), "tab:gray", "v"),
    ("GPTQ (w4, w3, w2; g32 to g256, q8 parameters, output refit)",
     lambda n: n.startswith("gptq-") and not n.startswith("gptq-t-"), "tab:blue", "s"),
    ("GPTQ ternary (1.6-bit codes; v or down at 3 bits)", lambda n: n.startswith("gptq-t-"), "tab:orange", "D"),
    ("PB-LLM", lambda n: n.startswith("pbllm-"), "tab:green", "^"),
    ("Squeeze10 paper formulas and variants",
     lambda n: n.startswith("s10-") and not n.startswith(S10_DEFAULT), "tab:purple", "x"),
    ("Squeeze10 (default recipe, ablations, layouts, output refit)",
     lambda n: n == "s10" or n.startswith(S10_DEFAULT), "tab:red", "o"),
]
# The quality goals at each budget (true bpw, perplexity), drawn for reference.
TARGETS = [(1.75, 41.0), (2.1, 38.0), (2.6, 36.3)]


def write_plot(results, path):
    """Perplexity against true bits per weight, one series per method family;
    filled markers where the bits were counted from packed bytes, hollow where
    they are the layout formula's estimate. Each family's lower envelope
    (its Pareto frontier) is joined by a line."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(8.5, 5.5))
    fp16 = next((r for r in results if r["name"] == "fp16"), None)
    if fp16:
        ax.axhline(fp16["ppl_wikitext2"], color="black", lw=0.8, ls="--",
                   label=f"fp16 ({fp16['ppl_wikitext2']:.2f})")
    for label, test, colour, marker in FAMILIES:
        rows = sorted((r for r in results if test(r["name"])), key=lambda r: r["true_bpw"])
        if not rows:
            continue
        for packed in (True, False):
            pts = [r for r in rows if ("packed_bytes" in r) == packed]
            if not pts:
                continue
            hollow = marker != "x" and not packed
            ax.scatter([r["true_bpw"] for r in pts], [r["ppl_wikitext2"] for r in pts],
                       marker=marker, s=36, color=colour,
                       facecolors="none" if hollow else colour,
                       label=label if packed or not any("packed_bytes" in r for r in rows) else None)
        front, best = [], float("inf")
        for r in rows:
            if r["ppl_wikitext2"] < best:
                best = r["ppl_wikitext2"]
                front.append(r)
        ax.plot([r["true_bpw"] for r in front], [r["ppl_wikitext2"] for r in front],
                color=colour, lw=1, alpha=0.7)
    ax.scatter([t[0] for t in TARGETS], [t[1] for t in TARGETS], marker="*", s=140,
               color="gold", edgecolors="black", zorder=5, label="quality goals")
    ax.set_yscale("log")
    ax.set_ylim(33, 70)
    ax.set_xlim(1.0, 4.5)
    ax.set_yticks([34, 36, 38, 40, 45, 50, 60, 70])
    ax.get_yaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax.set_xlabel("true bits per weight (packed bytes x 8 / weights; hollow: estimated)")
    ax.set_ylabel("WikiText-2 test perplexity (863 windows of 512)")
    ax.set_title("llama-12m: perplexity vs true bits per weight (decoder linears)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_table(results, path, max_windows):
    lines = [
        "# Quantization results on llama-12m",
        "",
        "Produced by `bench/quant_bench.py` (raw rows: `bench/results/quant-llama-12m.json`).",
        "Calibration: 128 windows of 512 tokens from WikiText-2 valid, seed 0. Evaluation:",
        "WikiText-2 test perplexity, non-overlapping windows of 512 tokens"
        + (f" (first {max_windows} windows only)." if max_windows else " (all 863 windows)."),
        "Payload bits count codes only. True bits are counted from the packed bytes the",
        "kernels read (squeeze-pack; layouts in `docs/packed-layouts.md`): codes, signs,",
        "salient masks or indices, offsets, group parameters and padding. Perplexity is",
        "measured on the packed model; where the unpacked model (before packing, f32 group",
        "parameters) was evaluated too, its perplexity is in the last column.",
        "",
        "Rows without a date in the last column were measured before s10 chose OpenBLAS's",
        "kernels by CPU, with its SSE3 ones; the per-CPU kernels round differently, so",
        "reruns move in the fourth significant digit (the 50-window check of",
        "`quantized-perplexity.test`: 36.5883 then, 36.5876 now), and their calibration",
        "ran about 4.5 times slower than it does now.",
        "",
        "![Perplexity against true bits per weight, one series per method family; filled "
        "markers where the bits are counted from packed bytes, hollow where estimated; "
        "stars: the quality goals at 1.75, 2.1 and 2.6 bits](pareto-llama-12m.png)",
        "",
        "The plot is drawn from the JSON rows by `bench/quant_bench.py --plot-only`",
        "(and after every bench run); the lines join each family's Pareto frontier.",
        "",
        "Rows marked `artifact` in the last column were evaluated on the compiled CPU artifact",
        "of the packed model (`s10-compile`, then `s10-run`; its perplexity equals the",
        "interpreter's to 0.01, `test/Runtime/llama-artifact.test`), the others on the",
        "module in the interpreter. The rows marked `artifact` ran up to three at a time",
        "on the two cores, so their quantize seconds are up to 3x what one run alone takes.",
        "",
        "| row | method | layout | payload bpw | true bpw | packed MB | file MB | WikiText-2 ppl | quantize s | unpacked ppl | measured |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    stale = False
    for r in results:
        layout = ", ".join(r.get("layout", [])) or "-"
        packed = f"{r['packed_bytes'] / 1e6:.3f}" if "packed_bytes" in r else "-"
        fileb = f"{r['file_bytes'] / 1e6:.3f}" if "file_bytes" in r else "-"
        unp = f"{r['ppl_unpacked']:.2f}" if "ppl_unpacked" in r else "-"
        true = f"{r['true_bpw']:.3f}"
        if "packed_bytes" not in r and r["name"] != "fp16":
            # Measured before weights were packed: bits from a formula.
            true += " *"
            stale = True
        lines.append(f"| {r['name']} | {r['method']} | {layout} | {r['payload_bpw']:.3f} | {true} | "
                     f"{packed} | {fileb} | {r['ppl_wikitext2']:.2f} | {r['quantize_seconds']:.1f} | {unp} | "
                     f"{r.get('measured', '')}"
                     f"{' artifact' if r.get('evaluated_by') == 'artifact' else ''} |")
    if stale:
        lines += ["", "\\* Not yet re-run with packing: true bits estimated from the layout "
                  "formula (codes, fp16 group parameters, a 1-bit mask), perplexity measured "
                  "on unpacked weights."]
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
