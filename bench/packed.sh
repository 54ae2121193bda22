#!/usr/bin/env bash
# Packed-weight GEMV / GEMM against f32 OpenBLAS, single thread.
#
# Builds s10-bench-packed, runs it (about a minute) and prints one table per
# operation: time, GB/s of weight bytes, bits per weight and the speedup over
# cblas_sgemv / cblas_sgemm on the same shape. Extra arguments go to the
# benchmark (e.g. --benchmark_filter=gemv/).
#
# Environment: BUILD (build directory, default build), MIN_TIME (seconds per
# benchmark, default 0.2), OUT (JSON results, default
# $BUILD/bench-packed.json; the console log goes next to it as .log),
# OPENBLAS_CORETYPE (OpenBLAS kernel; by default
# chosen from the CPU flags, since OpenBLAS falls back to generic SSE3
# kernels on CPUs it does not recognize).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
MIN_TIME=${MIN_TIME:-0.2}
OUT=${OUT:-$BUILD/bench-packed.json}

ninja -C "$BUILD" s10-bench-packed >/dev/null

if [[ -z ${OPENBLAS_CORETYPE:-} ]]; then
  flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)
  if [[ $flags == *avx512f* && $flags == *avx512bw* && $flags == *avx512vl* ]]; then
    export OPENBLAS_CORETYPE=SkylakeX
  elif [[ $flags == *avx2* && $flags == *fma* ]]; then
    export OPENBLAS_CORETYPE=Haswell
  fi
fi
export OPENBLAS_NUM_THREADS=1

LOG=${OUT%.json}.log
if ! "$BUILD/bin/s10-bench-packed" --benchmark_min_time="$MIN_TIME" \
    --benchmark_out="$OUT" --benchmark_out_format=json "$@" >"$LOG" 2>&1; then
  cat "$LOG" >&2
  exit 1
fi

python3 - "$OUT" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
ctx = data["context"]
print(f"{ctx.get('host_name', '?')}: {ctx.get('num_cpus', '?')} CPUs at "
      f"{ctx.get('mhz_per_cpu', '?')} MHz, OpenBLAS core "
      f"{ctx.get('openblas_core', '?')}, single thread")
rows = {}
for b in data["benchmarks"]:
    if b.get("run_type", "iteration") != "iteration":
        continue
    op, layout, shape = b["run_name"].split("/")[:3]
    rows.setdefault((op, shape), []).append((layout, b))
for (op, shape), entries in rows.items():
    print(f"\n{op}  {shape} (out x in)")
    print(f"  {'layout':<24}{'bits/w':>8}{'time us':>12}{'GB/s':>9}"
          f"{'vs f32 BLAS':>13}")
    for layout, b in entries:
        t = b["real_time"]
        if b["time_unit"] == "ms":
            t *= 1e3
        elif b["time_unit"] == "ns":
            t /= 1e3
        print(f"  {layout:<24}{b['bits_per_weight']:>8.3f}{t:>12.0f}"
              f"{b['gb_per_s']:>9.2f}{b['speedup_vs_blas']:>12.2f}x")
PY
