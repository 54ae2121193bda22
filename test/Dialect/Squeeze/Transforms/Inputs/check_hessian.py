"""Checks the Hessians squeeze-calibrate wrote against the activations it
sampled. With pbar-tokens covering every calibration token, the sample of a
layer input is the whole X, so its side-file H must be (2/N) X^T X, and
exactly symmetric.

    check_hessian.py calibrated.mlir
"""
import re
import sys

import numpy as np

text = open(sys.argv[1]).read()
ext = r'#squeeze\.extern<"([^"]*)", offset = (\d+), length = (\d+)>'
pattern = re.compile(r"squeeze\.calib_tokens = (\d+) : i64, squeeze\.hessian = "
                     + ext + r", squeeze\.samples = " + ext)
seen = {}
for m in pattern.finditer(text):
    tokens = int(m.group(1))
    key = (m.group(2), int(m.group(3)))
    seen[key] = (tokens, m.group(5), int(m.group(6)), int(m.group(7)),
                 int(m.group(4)))
if not seen:
    sys.exit("check_hessian: no calibrated layer found")
worst = 0.0
dims = set()
for (path, off), (tokens, spath, soff, slen, hlen) in sorted(seen.items()):
    h = np.fromfile(path, dtype="<f8", count=hlen // 8, offset=off)
    d = int(round(len(h) ** 0.5))
    h = h.reshape(d, d)
    x = np.fromfile(spath, dtype="<f4", count=slen // 4, offset=soff)
    x = x.reshape(-1, d).astype(np.float64)
    if x.shape[0] != tokens:
        sys.exit(f"check_hessian: the sample at {soff} has {x.shape[0]} rows, "
                 f"expected all {tokens} tokens (raise pbar-tokens)")
    if not np.array_equal(h, h.T):
        sys.exit(f"check_hessian: H at {off} is not symmetric")
    ref = 2.0 / tokens * (x.T @ x)
    err = np.abs(h - ref).max() / np.abs(ref).max()
    worst = max(worst, err)
    dims.add(d)
print(f"{len(seen)} Hessians ({', '.join(map(str, sorted(dims)))} wide): "
      f"symmetric; max deviation from (2/N) X^T X "
      f"{'below 1e-6' if worst < 1e-6 else f'{worst:.2e}'} of its largest entry")
