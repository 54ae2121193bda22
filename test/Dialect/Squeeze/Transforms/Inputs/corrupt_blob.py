"""Rewrites one resource blob of a textual MLIR file.
    corrupt_blob.py IN OUT NAME set OFFSET HEXBYTES   (bytes at OFFSET of the blob)
    corrupt_blob.py IN OUT NAME truncate N            (drop the last N bytes)"""
import re
import sys

src, dst, name, mode = sys.argv[1:5]
text = open(src).read()
m = re.search(r"(\n\s*" + re.escape(name) + r': "0x)([0-9A-F]*)"', text)
if not m:
    sys.exit(f"no blob {name}")
blob = m.group(2)  # 8 hex digits of alignment, then the bytes
if mode == "set":
    pos = 8 + 2 * int(sys.argv[5])
    new = sys.argv[6].upper()
    blob = blob[:pos] + new + blob[pos + len(new):]
else:
    blob = blob[: len(blob) - 2 * int(sys.argv[5])]
text = text[: m.start(2)] + blob + text[m.end(2):]
open(dst, "w").write(text)
