"""Writes OUT: the bytecode of IN (packed weights, 64-byte aligned resources)
grown by a module attribute to an exact multiple of 4096 bytes. Such a file
is not mmapped by llvm::MemoryBuffer (no room for the null terminator) and
lands in a heap buffer aligned only to 16 unless the tools align it.

    page_sized_bytecode.py S10_OPT IN OUT"""
import os
import subprocess
import sys

tool, src, out = sys.argv[1:4]
text = open(src).read()
pad = 0
for _ in range(16):
    padded = text.replace("module {", 'module attributes {s10.pad = "' + "x" * pad + '"} {', 1)
    subprocess.run([tool, "-", "--emit-bytecode", "-o", out], input=padded, text=True, check=True)
    size = os.path.getsize(out)
    if size % 4096 == 0:
        print("bytecode of a multiple of 4096 bytes")
        sys.exit(0)
    pad += -size % 4096
sys.exit("could not reach a multiple of 4096")
