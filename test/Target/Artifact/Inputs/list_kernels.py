"""Lists the kernels of a .s10 artifact (runtime/include/s10rt/Format.h):
one line per kernel, `<abi> <symbol>`, GemmBlock kernels with their shape,
then per Linear step the decode kernel it names (or none)."""
import struct
import sys

ABIS = {1: "gemv", 2: "rms_norm_row", 3: "binary", 4: "embedding",
        5: "rotary", 6: "attend", 7: "decode", 8: "gemm_block"}

data = open(sys.argv[1], "rb").read()
count = struct.unpack_from("<I", data, 20)[0]
sections = {}
for i in range(count):
    kind, _, off, size, _ = struct.unpack_from("<IIQQQ", data, 64 + 32 * i)
    sections[kind] = (off, size)


def string(offset):
    base = sections[2][0] + offset
    return data[base:data.index(b"\0", base)].decode()


print("version", struct.unpack_from("<I", data, 8)[0])
if 6 in sections:
    koff = sections[6][0]
    n = struct.unpack_from("<I", data, koff)[0]
    for i in range(n):
        abi, sym, w0, w1 = struct.unpack_from("<IIII", data, koff + 32 + 16 * i)
        line = f"kernel {i}: {ABIS.get(abi, abi)} {string(sym)}"
        if abi == 8:
            line += (f" mr {w0 & 15} nv {w0 >> 4 & 15} masked {w0 >> 8 & 15}"
                     f" table {w0 >> 12 & 15}x{w0 >> 16 & 15} vec {w0 >> 20}"
                     f" kc {w1}")
        print(line)
poff = sections[5][0]
buffers, steps = struct.unpack_from("<II", data, poff)
for i in range(steps):
    rec = poff + 32 + 8 * buffers + 64 * i
    op, kernel = struct.unpack_from("<II", data, rec)
    reserved = struct.unpack_from("<I", data, rec + 60)[0]
    if op == 3:
        print(f"step {i}: linear kernel {kernel if kernel != 0xFFFFFFFF else 'none'}"
              f" decode {reserved if reserved != 0xFFFFFFFF else 'none'}")
