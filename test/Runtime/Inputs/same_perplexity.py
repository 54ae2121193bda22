#!/usr/bin/env python3
"""Checks that two s10-run perplexity JSON files agree.

usage: same_perplexity.py A.json B.json TOL
Passes when both scored the same windows and |ppl_a - ppl_b| <= TOL.
"""
import json
import sys

a = json.load(open(sys.argv[1]))
b = json.load(open(sys.argv[2]))
tol = float(sys.argv[3])
ok = (a["windows"] == b["windows"] and a["tokens"] == b["tokens"]
      and abs(a["perplexity"] - b["perplexity"]) <= tol)
print("perplexity %.4f vs %.4f over %d windows: %s"
      % (a["perplexity"], b["perplexity"], a["windows"],
         "PASS" if ok else "FAIL"))
sys.exit(0 if ok else 1)
