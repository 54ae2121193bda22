#!/usr/bin/env python3
"""Checks a quantized model's perplexity against the full-precision one.

usage: check_ppl_bound.py FP.json QUANT.json REL WINDOWS
Both are s10-run --perplexity JSON reports. Passes when both scored the same
WINDOWS windows of the same length over the same text, and the quantized
perplexity is within REL (relative) of the full-precision one.
"""
import json
import sys

fp = json.load(open(sys.argv[1]))
q = json.load(open(sys.argv[2]))
rel = float(sys.argv[3])
windows = int(sys.argv[4])
same = all(fp[k] == q[k] for k in ("windows", "seqlen", "tokens",
                                    "predicted_tokens"))
ratio = q["perplexity"] / fp["perplexity"]
ok = same and fp["windows"] == windows and abs(ratio - 1) <= rel
print("quantized perplexity %.4f, full precision %.4f over %d windows of %d "
      "(ratio %.4f, bound %.2f): %s"
      % (q["perplexity"], fp["perplexity"], q["windows"], q["seqlen"], ratio,
         1 + rel, "PASS" if ok else "FAIL"))
sys.exit(0 if ok else 1)
