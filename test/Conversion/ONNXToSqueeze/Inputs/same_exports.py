"""Compares regenerated exports with the committed ones: every file byte
for byte, except the graph-vs-numpy error figures in the .json files, which
vary in their last bits with the machine's BLAS; those must only stay under
the generator's own tolerance."""
import json, os, sys

TOL = 1e-4


def strip(node, path, where):
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k.endswith("_max_abs_err"):
                if not (isinstance(v, (int, float)) and 0 <= v <= TOL):
                    sys.exit("%s: %s%s = %r is not in [0, %g]" % (where, path, k, v, TOL))
                continue
            out[k] = strip(v, path + k + ".", where)
        return out
    if isinstance(node, list):
        return [strip(v, path, where) for v in node]
    return node


got_dir, want_dir = sys.argv[1], sys.argv[2]
for name in sorted(os.listdir(got_dir)):
    got, want = os.path.join(got_dir, name), os.path.join(want_dir, name)
    if not os.path.exists(want):
        sys.exit("%s: not committed" % name)
    if name.endswith(".json"):
        if strip(json.load(open(got)), "", name) != strip(json.load(open(want)), "", name):
            sys.exit("%s: differs" % name)
    elif open(got, "rb").read() != open(want, "rb").read():
        sys.exit("%s: differs" % name)
print("%d files as committed" % len(os.listdir(got_dir)))
