"""Checks a squeeze-pack report and the bytecode file it describes against
the byte counts of docs/packed-layouts.md, recomputed here from the layout
rules: parts start at multiples of 64 bytes, bit-plane rows are padded to 16
bytes, N:M index and code rows to whole bytes.

    check_packed.py REPORT FILE LAYOUT [PARAMS] [BLOCK] [NM_SALIENT]

Prints one line per check; exits 1 on the first mismatch."""

import json
import math
import os
import sys


def align(v, a):
    return (v + a - 1) // a * a


def expected_bytes(out, inp, layout, params, salient, bits, sbits, block, nmk, group=128):
    groups = math.ceil(inp / group)
    pairs = 1 if layout in ("kbit", "ternary") else 2
    parts = []
    row = lambda nbits: align(math.ceil(nbits / 8), 16)
    rest = sbits - 1
    if layout == "kbit":
        parts.append(out * row(inp * bits))
    elif layout == "ternary":
        # One stream of five codes per byte, in 8-byte words of 40 codes.
        parts.append(8 * math.ceil(out * inp / 40))
    elif layout == "bitmap":
        parts += [out * row(inp), out * row(inp), 4 * out, align(math.ceil(salient * rest / 8), 16)]
    elif layout == "chanblock":
        blocks = math.ceil(out / block)
        parts += [out * row(inp), blocks * row(inp), 4 * blocks, align(math.ceil(salient * rest / 8), 16)]
    elif layout == "nm":
        per = inp // block * nmk
        parts += [out * row(inp), out * math.ceil(per * int(math.log2(block)) / 8), out * math.ceil(per * rest / 8)]
    if params == "q8":
        parts += [out * 2 * 2 * pairs, out * groups * 2 * pairs]
    elif params == "q8t":
        parts += [2 * 2 * pairs, out * groups * 2 * pairs]
    else:
        parts += [out * groups * 4 * pairs]
    pos = 0
    for size in parts:
        pos = align(pos, 64) + size
    return align(pos, 64)


def main():
    report, path, layout = sys.argv[1:4]
    params = sys.argv[4] if len(sys.argv) > 4 else "f16"
    block = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    nmk = int(sys.argv[6]) if len(sys.argv) > 6 else 0
    rep = json.load(open(report))
    total = 0
    for layer in rep["layers"]:
        want_layout = f"{layout}/{params}"
        if layer["layout"] != want_layout:
            sys.exit(f"{layer['layer']}: layout {layer['layout']}, expected {want_layout}")
        bits = 1 if layout != "kbit" else round(layer["payload_bpw"])
        sbits = 4
        want = expected_bytes(layer["out"], layer["in"], layout, params, layer["salient_count"], bits, sbits,
                              block, nmk)
        if layer["packed_bytes"] != want:
            sys.exit(f"{layer['layer']}: {layer['packed_bytes']} packed bytes, the layout rules give {want}")
        bpw = layer["packed_bytes"] * 8 / (layer["out"] * layer["in"])
        if abs(layer["true_bpw"] - bpw) > 1e-9:
            sys.exit(f"{layer['layer']}: true_bpw {layer['true_bpw']} is not packed_bytes x 8 / weights")
        total += layer["packed_bytes"]
    if total != rep["packed_bytes"]:
        sys.exit(f"total {rep['packed_bytes']} is not the sum of the layers' {total}")
    size = os.path.getsize(path)
    limit = 1.05 * total + 65536
    print(f"layers: {len(rep['layers'])} match the layout rules")
    print(f"file: {size} bytes for {total} packed bytes: {'ok' if size <= limit else 'TOO BIG'}")
    if size > limit:
        sys.exit(1)


main()
