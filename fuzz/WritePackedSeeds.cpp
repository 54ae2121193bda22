//===- WritePackedSeeds.cpp - Seed corpus of the packed-decode fuzzer -----===//
//
// Writes valid inputs of s10-fuzz-packed-decode: random weights of every
// layout kind and parameter format, packed by the layout library, behind
// the header that selects their spec. Usage: s10-fuzz-packed-seeds DIR [N]
//
//===----------------------------------------------------------------------===//

#include "PackedInput.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

using namespace s10::quant::layout;

namespace {

/// Random logical weight for `p`, following the salience structure of its
/// kind. fit() has the last word on whether it is valid.
Logical randomWeight(const s10::fuzz::PackedInput &p, std::mt19937 &rng) {
  const Spec &s = p.spec;
  Logical w;
  w.out = p.out;
  w.in = p.in;
  w.groupSize = s.groupSize;
  size_t n = size_t(p.out * p.in);
  w.codes.assign(n, 0);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  if (s.kind != Kind::KBit)
    w.salient.assign(n, 0);
  if (s.kind == Kind::Bitmap)
    for (uint8_t &m : w.salient)
      m = unit(rng) < 0.1f;
  if (s.kind == Kind::ChannelBlock && s.block > 0) {
    for (int64_t b = 0; b * s.block < p.out; ++b)
      for (int64_t j = 0; j < p.in; ++j)
        if (unit(rng) < 0.1f)
          for (int64_t i = b * s.block; i < std::min(p.out, (b + 1) * s.block);
               ++i)
            w.salient[i * p.in + j] = 1;
  }
  if (s.kind == Kind::NM && s.block > 0) {
    for (int64_t i = 0; i < p.out; ++i)
      for (int64_t j0 = 0; j0 < p.in; j0 += s.block) {
        std::vector<int64_t> idx;
        for (int64_t j = j0; j < std::min(p.in, j0 + s.block); ++j)
          idx.push_back(j);
        std::shuffle(idx.begin(), idx.end(), rng);
        for (int64_t k = 0; k < s.nmSalient && k < int64_t(idx.size()); ++k)
          w.salient[i * p.in + idx[k]] = 1;
      }
  }
  for (size_t k = 0; k < n; ++k) {
    bool salient = !w.salient.empty() && w.salient[k];
    unsigned bits = salient ? s.salientBits : s.bits;
    w.codes[k] = uint8_t(rng() % (1u << bits));
  }
  size_t params = size_t(p.out * w.groups());
  auto fill = [&](std::vector<float> &v, float lo, float hi) {
    v.resize(params);
    for (float &x : v)
      x = lo + (hi - lo) * unit(rng);
  };
  fill(w.scales, 0.01f, 0.5f);
  fill(w.offsets, -0.5f, 0.5f);
  if (s.kind != Kind::KBit) {
    fill(w.salientScales, 0.01f, 0.2f);
    fill(w.salientOffsets, -1.0f, 1.0f);
  }
  return w;
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DIR [COUNT]\n", argv[0]);
    return 1;
  }
  std::string dir = argv[1];
  int want = argc > 2 ? std::atoi(argv[2]) : 64;
  std::mt19937 rng(10);
  int written = 0, perKind[4] = {0, 0, 0, 0};
  for (int attempt = 0; attempt < 200000 && written < want; ++attempt) {
    uint8_t h[s10::fuzz::kPackedHeaderBytes];
    for (uint8_t &b : h)
      b = uint8_t(rng());
    // Spread the seeds over the kinds; the fields a kind does not use are 0.
    h[0] = uint8_t(written % 4);
    if (h[0] == 0 || h[0] == 1)
      h[4] = h[5] = 0;
    if (h[0] == 2)
      h[5] = 0;
    if (h[0] == 3) {
      const uint8_t ms[] = {4, 8, 16};
      h[4] = ms[rng() % 3];
      h[5] = uint8_t(1 + rng() % 3);
      h[7] = uint8_t(h[4] * (1 + rng() % (80 / h[4])) - 1); // in: k * M
    }
    s10::fuzz::PackedInput p = s10::fuzz::decodePackedHeader(h);
    Logical w = randomWeight(p, rng);
    Spec spec = p.spec;
    std::vector<uint8_t> bytes;
    if (fit(spec, w).failed() || pack(spec, w, bytes).failed())
      continue;
    std::string path =
        dir + "/seed-" + kindName(spec.kind) + "-" + std::to_string(written);
    FILE *f = std::fopen(path.c_str(), "wb");
    if (!f) {
      std::fprintf(stderr, "cannot write '%s'\n", path.c_str());
      return 1;
    }
    std::fwrite(h, 1, sizeof(h), f);
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
    ++perKind[h[0]];
    ++written;
  }
  std::printf("wrote %d seeds (kbit %d, bitmap %d, chanblock %d, nm %d)\n",
              written, perKind[0], perKind[1], perKind[2], perKind[3]);
  return written == want ? 0 : 1;
}
