//===- FuzzPackedDecode.cpp - libFuzzer target: packed-weight bytes -------===//
//
// Input: 8 bytes that choose a layout spec and a shape, then the packed
// bytes. validate() must accept exactly what the decoders can read: on
// success, unpack, every decoded row and the GEMV run over the bytes (ASan
// catches any read out of bounds), and packing the decoded weight gives
// valid bytes (the same bytes, with fp16 parameters).
//
//===----------------------------------------------------------------------===//

#include "PackedInput.h"

#include "s10/Quant/Layout.h"
#include "s10/Quant/PackedKernels.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

using namespace s10::quant::layout;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 8)
    return 0;
  s10::fuzz::PackedInput input = s10::fuzz::decodePackedHeader(data);
  Spec spec = input.spec;
  int64_t out = input.out, in = input.in;
  const uint8_t *bytes = data + 8;
  size_t n = size - 8;
  s10::fuzz::deriveSalientCount(input, bytes, n);
  spec = input.spec;
  if (validate(spec, out, in, bytes, n).failed())
    return 0;

  Logical w;
  if (unpack(spec, out, in, bytes, n, w).failed()) {
    fprintf(stderr, "validated bytes do not unpack\n");
    std::abort();
  }
  PackedMatrix m;
  if (PackedMatrix::create(spec, out, in, bytes, n, false, m).failed()) {
    fprintf(stderr, "validated bytes give no matrix view\n");
    std::abort();
  }
  std::vector<float> row(in), x(in), y(out);
  for (int64_t j = 0; j < in; ++j)
    x[j] = float((j * 7) % 5) - 2.0f;
  for (int64_t i = 0; i < out; ++i) {
    m.decodeRow(i, row.data());
    for (int64_t j = 0; j < in; ++j)
      if (row[j] != w.value(i, j) &&
          !(std::isnan(row[j]) && std::isnan(w.value(i, j)))) {
        fprintf(stderr, "decodeRow and unpack differ at (%lld, %lld)\n",
                (long long)i, (long long)j);
        std::abort();
      }
  }
  m.gemv(x.data(), y.data());

  // fp16 parameters are stored exactly, so the bytes are the only encoding
  // of their weight; Q8 ones are not canonical (any super-scale at least
  // the row's largest value will do), so there the repacked bytes need
  // only be valid.
  Spec again = spec;
  std::vector<uint8_t> repacked;
  bool canonical = spec.params == ParamFormat::F16;
  if (fit(again, w).failed() || pack(again, w, repacked).failed() ||
      repacked.size() != n ||
      (canonical && std::memcmp(repacked.data(), bytes, n) != 0) ||
      validate(again, out, in, repacked.data(), n).failed()) {
    fprintf(stderr, "validated bytes do not pack back to valid bytes%s\n",
            canonical ? " equal to themselves" : "");
    std::abort();
  }
  return 0;
}
