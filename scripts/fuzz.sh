#!/usr/bin/env bash
# Runs a libFuzzer target of fuzz/ (built with ASan+UBSan in build-san).
#
#   scripts/fuzz.sh TARGET [SECONDS] [JOBS]
#
# TARGET: onnx-import | squeeze-attr | packed-decode | artifact | all.
# SECONDS per target (default 60); JOBS parallel workers (default 1).
# The corpus grows in build-san/fuzz/corpus/TARGET across runs; seeds are
# rebuilt each run from the bundled model and the test inputs; a crashing
# input lands in build-san/fuzz/crashes/TARGET (keep it as a regression in
# fuzz/regressions/TARGET once fixed). Each run appends a line to
# build-san/fuzz/campaign.tsv: target, seconds, executions, coverage,
# features, crashes.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=${1:?usage: scripts/fuzz.sh TARGET [SECONDS] [JOBS]}
SECONDS_PER=${2:-60}
JOBS=${3:-1}
ALL=(onnx-import squeeze-attr packed-decode artifact)
if [ "$TARGET" = all ]; then
  for t in "${ALL[@]}"; do bash "$0" "$t" "$SECONDS_PER" "$JOBS"; done
  exit 0
fi
case " ${ALL[*]} " in *" $TARGET "*) ;; *)
  echo "fuzz.sh: unknown target '$TARGET' (one of: ${ALL[*]} all)" >&2; exit 2;;
esac

BUILD_DIR=${S10_SAN_BUILD_DIR:-build-san}
bash scripts/sanitize.sh s10-fuzzers s10-compile s10-opt > /dev/null
BIN="$BUILD_DIR/bin"
WORK="$BUILD_DIR/fuzz"
SEEDS="$WORK/seeds/$TARGET"
CORPUS="$WORK/corpus/$TARGET"
CRASHES="$WORK/crashes/$TARGET"
rm -rf "$SEEDS"
mkdir -p "$SEEDS" "$CORPUS" "$CRASHES"
# Crashes of this run only: older ones stay in the directory until removed.
MARK="$WORK/.start-$TARGET"
touch "$MARK"
MODEL=../shared/models/llama-12m

case "$TARGET" in
onnx-import)
  # u32 model length, the model, then the bytes of "data.bin" beside it.
  /usr/bin/python3 - "$SEEDS" "$MODEL/model.onnx" test/Target/ONNX/Inputs <<'PY'
import glob, os, struct, sys
out, bundled, inputs = sys.argv[1], sys.argv[2], sys.argv[3]
models = [bundled] + sorted(glob.glob(os.path.join(inputs, "*.onnx")))
for i, m in enumerate(models):
    data = open(m, "rb").read()
    blob = b""
    for ext in (".data", ".onnx.data"):
        side = m[: -len(".onnx")] + ext
        if os.path.exists(side) and os.path.getsize(side) < (1 << 16):
            blob = open(side, "rb").read()
    with open(os.path.join(out, "seed-%02d" % i), "wb") as f:
        f.write(struct.pack("<I", len(data)) + data + blob)
PY
  MAXLEN=1048576;;
squeeze-attr)
  # Every squeeze attribute and type the tests spell.
  /usr/bin/python3 - "$SEEDS" <<'PY'
import glob, re, sys
seen = set()
for path in glob.glob("test/**/*.mlir", recursive=True) + glob.glob("test/**/*.test", recursive=True):
    text = open(path, errors="replace").read()
    for m in re.finditer(r"[#!](squeeze|onnx)\.[a-z_]+", text):
        depth, j = 0, m.end()
        while j < len(text):
            c = text[j]
            if c == "<": depth += 1
            elif c == ">":
                depth -= 1
                if depth == 0: j += 1; break
            elif depth == 0: break
            j += 1
        s = text[m.start():j]
        if "\n" not in s and len(s) < 400: seen.add(s)
for i, s in enumerate(sorted(seen)):
    open("%s/seed-%03d" % (sys.argv[1], i), "w").write(s)
PY
  MAXLEN=512;;
packed-decode)
  "$BIN/s10-fuzz-packed-seeds" "$SEEDS" 64 > /dev/null
  MAXLEN=16384;;
artifact)
  # Small compiled models: dense and packed, with and without kernels.
  IN=test/Target/Artifact/Inputs
  "$BIN/s10-opt" "$IN/tiny-decoder-quantized.mlir" --squeeze-pack=quiet=true -o "$SEEDS/packed.mlir" 2>/dev/null
  "$BIN/s10-compile" "$IN/tiny-decoder.mlir" -o "$SEEDS/dense.s10" --kernels=runtime --quiet
  "$BIN/s10-compile" "$SEEDS/packed.mlir" -o "$SEEDS/packed.s10" --kernels=runtime --quiet
  "$BIN/s10-compile" "$SEEDS/packed.mlir" -o "$SEEDS/packed-kernels.s10" --quiet
  rm "$SEEDS/packed.mlir"
  MAXLEN=262144;;
esac

LOG="$WORK/$TARGET.log"
echo "fuzz.sh: $TARGET for ${SECONDS_PER} s, $JOBS job(s), $(ls "$SEEDS" | wc -l) seeds, corpus $(ls "$CORPUS" | wc -l) inputs"
# allocator_may_return_null: an allocation too large throws std::bad_alloc,
# as it does outside ASan, and the readers turn that into an error.
export ASAN_OPTIONS=${ASAN_OPTIONS:-allow_user_poisoning=0:detect_leaks=1:allocator_may_return_null=1}
set +e
if [ "$JOBS" -gt 1 ]; then
  FORK=(-fork="$JOBS" -ignore_crashes=1)
else
  FORK=()
fi
"$BIN/s10-fuzz-$TARGET" "$CORPUS" "$SEEDS" -max_total_time="$SECONDS_PER" \
  -max_len="$MAXLEN" -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 \
  -artifact_prefix="$CRASHES/" "${FORK[@]}" > "$LOG" 2>&1
rc=$?
set -e
execs=$(grep -a "stat::number_of_executed_units" "$LOG" | awk '{s += $2} END {print s + 0}')
last=$(grep -a -E "^#[0-9]+" "$LOG" | tail -1)
cov=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
ft=$(echo "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
if [ "$JOBS" -gt 1 ]; then
  execs=$(echo "$last" | sed -n 's/^#\([0-9]*\).*/\1/p')
fi
crashes=$(find "$CRASHES" -type f -newer "$MARK" | wc -l)
printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$TARGET" \
  "$SECONDS_PER" "${execs:-0}" "${cov:-?}" "${ft:-?}" "$crashes" >> "$WORK/campaign.tsv"
echo "fuzz.sh: $TARGET: ${execs:-0} executions, coverage ${cov:-?} edges, ${ft:-?} features, $crashes crashing input(s) (log: $LOG)"
if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
  tail -40 "$LOG"
  exit 1
fi
