#!/usr/bin/env python3
"""Writes a damaged copy of a .s10 artifact (runtime/include/s10rt/Format.h).

usage: corrupt_artifact.py IN OUT MODE
MODE: truncate | trailing | magic | header | version | target | plan |
      kernels | weights | tensors | step-buffer | tensor-offset |
      gemm-block | decode-kernel
`version` and `target` rewrite the field and fix both checksums, so the
loader must reject the value itself; the others leave the checksums stale.
"""
import struct
import sys

src, dst, mode = sys.argv[1], sys.argv[2], sys.argv[3]
data = bytearray(open(src, "rb").read())


def checksum(buf):
    h = 0xcbf29ce484222325
    n = len(buf)
    for i in range(0, n - n % 8, 8):
        h = ((h ^ struct.unpack_from("<Q", buf, i)[0]) * 0x100000001b3) & (2**64 - 1)
    if n % 8:
        w = int.from_bytes(bytes(buf[n - n % 8:]) + bytes(8 - n % 8), "little")
        h = ((h ^ w) * 0x100000001b3) & (2**64 - 1)
    return h


def reseal():
    struct.pack_into("<Q", data, 40, checksum(data[64:]))
    struct.pack_into("<Q", data, 48, checksum(data[:48]))


def section(kind):
    count = struct.unpack_from("<I", data, 20)[0]
    for i in range(count):
        k, _, off, size, _ = struct.unpack_from("<IIQQQ", data, 64 + 32 * i)
        if k == kind:
            return off, size
    sys.exit("no section of kind %d" % kind)


if mode == "truncate":
    data = data[:len(data) - 4096 - 100]
elif mode == "trailing":
    data += b"\0" * 8
elif mode == "magic":
    data[0] ^= 0x20
elif mode == "header":
    data[24] ^= 0x01  # fileSize, under the header checksum
elif mode == "version":
    struct.pack_into("<I", data, 8, 4)
    reseal()
elif mode == "target":
    struct.pack_into("<I", data, 16, 2)
    reseal()
elif mode in ("plan", "kernels", "weights", "tensors"):
    off, size = section({"plan": 5, "kernels": 6, "weights": 4,
                         "tensors": 3}[mode])
    data[off + size // 2] ^= 0x10
elif mode == "step-buffer":
    # The first step's output buffer out of range, checksums fixed.
    off, _ = section(5)
    buffers = struct.unpack_from("<I", data, off)[0]
    struct.pack_into("<I", data, off + 32 + 8 * buffers + 20, 4000)
    reseal()
elif mode == "tensor-offset":
    # The first tensor's bytes far past the Weights section.
    off, _ = section(3)
    struct.pack_into("<Q", data, off + 24, 1 << 40)
    reseal()
elif mode == "gemm-block":
    # The first GemmBlock kernel's k block 0 (KernelRecord::reserved[1]).
    off, _ = section(6)
    count = struct.unpack_from("<I", data, off)[0]
    first = next(i for i in range(count)
                 if struct.unpack_from("<I", data, off + 32 + 16 * i)[0] == 8)
    struct.pack_into("<I", data, off + 32 + 16 * first + 12, 0)
    reseal()
elif mode == "decode-kernel":
    # Every linear step names kernel 0 (not a decode kernel) as its decoder.
    off, _ = section(5)
    buffers, steps = struct.unpack_from("<II", data, off)
    for i in range(steps):
        rec = off + 32 + 8 * buffers + 64 * i
        if struct.unpack_from("<I", data, rec)[0] == 3:
            struct.pack_into("<I", data, rec + 60, 0)
    reseal()
else:
    sys.exit("unknown mode " + mode)
open(dst, "wb").write(data)
