#!/usr/bin/env python3
"""fp16 GEMV with PyTorch (cuBLAS) at LLaMA-2-7B's shapes: the baseline the
s10 kernels are compared with in scripts/gpu-check.sh. Weights rotate through
copies larger than the L2 cache, as s10-gpu-check does, so every launch reads
its weight from memory."""
import argparse, json, sys

SHAPES = [(4096, 4096), (11008, 4096), (4096, 11008)]
# Tokens of the prefill GEMMs s10-gpu-check times (bench/cuda/CudaCases.cpp).
PREFILL_TOKENS = 64


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json", required=True)
    ap.add_argument("--reps", type=int, default=200)
    args = ap.parse_args()
    try:
        import torch
    except ImportError:
        print("gpu_torch_gemv: PyTorch is not installed", file=sys.stderr)
        return 2
    if not torch.cuda.is_available():
        print("gpu_torch_gemv: PyTorch sees no CUDA device", file=sys.stderr)
        return 2
    dev = torch.device("cuda")
    props = torch.cuda.get_device_properties(dev)
    l2 = getattr(props, "L2_cache_size", 50 << 20)
    rows, prefill = [], []
    for out, inn in SHAPES:
        wbytes = out * inn * 2
        copies = max(1, -(-max(4 * l2, 256 << 20) // wbytes))
        ws = [torch.randn(out, inn, device=dev, dtype=torch.float16)
              for _ in range(copies)]
        def timed(tokens):
            x = torch.randn(tokens, inn, device=dev, dtype=torch.float16)
            for i in range(20):
                torch.nn.functional.linear(x, ws[i % copies])
            torch.cuda.synchronize()
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            for i in range(args.reps):
                torch.nn.functional.linear(x, ws[i % copies])
            b.record()
            b.synchronize()
            return a.elapsed_time(b) * 1e3 / args.reps
        us = timed(1)
        nbytes = wbytes + 2 * (inn + out)
        rows.append({"out": out, "in": inn, "us": us, "bytes": nbytes,
                     "gbps": nbytes / (us * 1e-6) / 1e9, "weight_copies": copies})
        print("torch fp16 linear %5dx%-5d %8.2f us %8.1f GB/s" % (out, inn, us, rows[-1]["gbps"]))
        us = timed(PREFILL_TOKENS)
        prefill.append({"out": out, "in": inn, "tokens": PREFILL_TOKENS, "us": us,
                        "tflops": 2 * out * inn * PREFILL_TOKENS / (us * 1e-6) / 1e12})
        print("torch fp16 linear %5dx%-5d x %d tokens %8.2f us %6.1f TFLOP/s"
              % (out, inn, PREFILL_TOKENS, us, prefill[-1]["tflops"]))
        del ws
        torch.cuda.empty_cache()
    json.dump({"device": props.name, "torch": torch.__version__, "gemv": rows,
               "prefill": prefill},
              open(args.json, "w"), indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
