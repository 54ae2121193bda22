"""Checks a directory written by s10-cuda-cases: every case line parses into
key=value pairs, and every kernel it names is a symbol of each cubin, which
is an ELF object for CUDA (e_machine 190)."""
import glob, os, sys

d = sys.argv[1]
cases = [l.split() for l in open(os.path.join(d, "cases.txt")) if l.strip() and not l.startswith("#")]
kernels = set()
bench = 0
for c in cases:
    kv = dict(t.split("=", 1) for t in c[1:])
    kernels.add(kv["kernel"])
    bench += kv.get("bench") == "1"
cubins = sorted(glob.glob(os.path.join(d, "kernels.*.cubin")))
for path in cubins:
    b = open(path, "rb").read()
    assert b[:4] == b"\x7fELF" and int.from_bytes(b[18:20], "little") == 190, path
    missing = [k for k in kernels if (k.encode() + b"\0") not in b]
    assert not missing, (path, missing)
print("%d cases, %d kernels, %d bench, every kernel in %d cubins" % (len(cases), len(kernels), bench, len(cubins)))
