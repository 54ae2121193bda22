#!/usr/bin/env python3
"""Compares two raw little-endian f32 logits files.

usage: compare_logits.py GOT REF [--vocab 4096] [--tol 1e-3]
Prints the shape and max abs difference; exits 1 if it exceeds --tol.
"""
import argparse
import sys

import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("got")
ap.add_argument("ref")
ap.add_argument("--vocab", type=int, default=4096)
ap.add_argument("--tol", type=float, default=1e-3)
args = ap.parse_args()
got = np.fromfile(args.got, dtype="<f4")
ref = np.fromfile(args.ref, dtype="<f4")
if got.size != ref.size or got.size % args.vocab:
    print("size mismatch: %d vs %d floats" % (got.size, ref.size))
    sys.exit(1)
diff = float(np.abs(got.astype(np.float64) - ref).max())
same_argmax = bool((got.reshape(-1, args.vocab).argmax(1) ==
                    ref.reshape(-1, args.vocab).argmax(1)).all())
print("rows %d vocab %d max abs diff %.3g argmax %s"
      % (got.size // args.vocab, args.vocab, diff,
         "same" if same_argmax else "DIFFERENT"))
print("PASS" if diff <= args.tol and same_argmax else "FAIL")
sys.exit(0 if diff <= args.tol and same_argmax else 1)
