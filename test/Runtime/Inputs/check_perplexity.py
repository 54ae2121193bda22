#!/usr/bin/env python3
"""Checks an s10-run perplexity JSON against a number of reference.json.

usage: check_perplexity.py RUN.json REFERENCE.json KEY[.KEY...] TOL [TOKENS]
Passes when |perplexity - reference| <= TOL (and, if given, the run scored
windows over exactly TOKENS tokens of text).
"""
import json
import sys

run = json.load(open(sys.argv[1]))
ref = json.load(open(sys.argv[2]))
for key in sys.argv[3].split("."):
    ref = ref[key]
tol = float(sys.argv[4])
ok = abs(run["perplexity"] - ref) <= tol
if len(sys.argv) > 5:
    ok = ok and run["tokens"] == int(sys.argv[5])
print("perplexity %.4f reference %.4f over %d windows: %s"
      % (run["perplexity"], ref, run["windows"], "PASS" if ok else "FAIL"))
sys.exit(0 if ok else 1)
