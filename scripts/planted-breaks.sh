#!/usr/bin/env bash
# Shows that the tests pinning s10's headline numbers have teeth: plants one
# known bug at a time in the sources, rebuilds, runs the test that guards
# it, and expects that test to FAIL; then restores the source. Prints one
# line per plant and exits non-zero if any planted bug went unnoticed.
#
#   scripts/planted-breaks.sh [NAME...]      (default: all)
#
# Uses the build in $S10_BUILD_DIR (default: build) and leaves it rebuilt
# from the unmodified sources. Takes about 20 minutes on 2 cores.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${S10_BUILD_DIR:-build}
LIT="${LIT:-/usr/lib/llvm-22/bin/lit} -v"
TOOLS=(s10-translate s10-opt s10-run)

# name | file | exact text | planted text | build targets | test command
PLANTS=(
"window-off-by-one|lib/Runtime/Drivers.cpp|ids.slice(w * opts.seqlen, opts.seqlen)|ids.slice(w * opts.seqlen + 1, opts.seqlen)|tools|$LIT $BUILD/test/Runtime/llama-reference.test"
"rotary-theta|lib/Runtime/Kernels.cpp|invFreq[i] = 1.0f / powf(float(theta), expo);|invFreq[i] = 1.0f / powf(float(theta) * 10.0f, expo);|tools|$LIT $BUILD/test/Runtime/llama-reference.test"
"flipped-code-bit|lib/Quant/PackedKernels.cpp|w[j + e] = scale * t[e] + offset;|w[j + e] = scale * (e == 0 ? 1.0f - t[e] : t[e]) + offset;|tools|$LIT $BUILD/test/Runtime/quantized-perplexity.test"
"no-gptq-feedback|lib/Quant/Gptq.cpp|          wr[c] -= e * urow[c];|          (void)urow;|tools|$LIT $BUILD/test/Runtime/quantized-perplexity.test"
"range-delta-sign|lib/Quant/Pbar.cpp|b(i, j) = std::abs(b(i, j) - range);|b(i, j) = b(i, j) - range;|S10QuantTests|ctest --test-dir $BUILD -R SubtractOutputRange"
"binary-code-tie|lib/Quant/Binarize.cpp|w(i, j) >= r.paramsAt(i, j).mu|w(i, j) > r.paramsAt(i, j).mu|S10QuantTests|ctest --test-dir $BUILD -R BinarizeTest.Codes"
)

targets() { [ "$1" = tools ] && echo "${TOOLS[@]}" || echo "$1"; }

status=0
for entry in "${PLANTS[@]}"; do
  IFS='|' read -r name file from to build test <<<"$entry"
  if [ $# -gt 0 ] && [[ " $* " != *" $name "* ]]; then continue; fi
  backup=$(mktemp)
  cp "$file" "$backup"
  if ! /usr/bin/python3 - "$file" "$from" "$to" <<'PY'
import sys
path, old, new = sys.argv[1:4]
text = open(path).read()
if text.count(old) != 1:
    sys.exit("planted-breaks: '%s' occurs %d times in %s" % (old, text.count(old), path))
open(path, "w").write(text.replace(old, new))
PY
  then
    echo "ERROR    $name: cannot plant in $file"; status=1; rm -f "$backup"; continue
  fi
  start=$SECONDS
  if ! ninja -C "$BUILD" $(targets "$build") > "/tmp/planted-$name.build.log" 2>&1; then
    result="ERROR    $name: the planted source does not build"
    status=1
  elif $test > "/tmp/planted-$name.log" 2>&1; then
    result="MISSED   $name: $test passed with the bug planted in $file"
    status=1
  else
    result="CAUGHT   $name: $test failed ($file)"
  fi
  cp "$backup" "$file" # a fresh mtime: ninja rebuilds from the original
  rm -f "$backup"
  echo "$result [$((SECONDS - start)) s]"
done
ninja -C "$BUILD" "${TOOLS[@]}" S10QuantTests > /dev/null 2>&1 ||
  { echo "planted-breaks: rebuilding the unmodified sources failed" >&2; exit 1; }
exit $status
