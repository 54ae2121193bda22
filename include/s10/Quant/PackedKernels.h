//===- PackedKernels.h - Reference kernels on packed weights ---*- C++ -*-===//
//
// Y = X W^T computed directly from the bytes of a packed layout (Layout.h):
// one token (GEMV) and many tokens (GEMM). These are the references every
// generated kernel is checked against, and what the executor runs.
//
// GEMV: 1-bit planes are multiplied through a lookup table of partial sums
// of x (256 entries per 8 inputs, built once per call and shared by all
// rows), and the salient weights are added as a sparse correction (per
// group, from three sums over them). k-bit codes are decoded a row at a
// time into a small f32 buffer already multiplied by their group's scale
// (2, 4 and 8 bits in the order of a de-interleaved copy of x) and
// multiplied with x in fixed-width lanes the compiler vectorizes; offsets
// come in through the group sums of x. GEMM decodes a tile of rows into a
// small f32 buffer and multiplies it with BLAS (or plain loops): no
// dequantized copy of the matrix is ever kept.
//
// Plain C++17, no LLVM.
//
//===----------------------------------------------------------------------===//

#ifndef S10_QUANT_PACKEDKERNELS_H
#define S10_QUANT_PACKEDKERNELS_H

#include "s10/Quant/Layout.h"

namespace s10::quant::layout {

/// Per-call scratch of the GEMV, derived from x by prepare() and only read
/// by gemvRows() (which may run on several threads at once).
struct GemvScratch {
  /// 1-bit planes: for byte b of a plane row, lut[b][v] is the sum of x over
  /// the set bits of the value v: [ceil(in / 8)][256].
  std::vector<float> lut;
  /// kbit with 2 or more bits: x de-interleaved like the codes of a byte,
  /// planes[r][b] = x[b * per + r] with per = 8 / bits for 2 and 4 bits,
  /// else 1 (x itself): [per][stride], zero-padded.
  std::vector<float> planes;
  std::vector<float> xsum; // [groups]
};

/// A read-only view of validated packed bytes (not owned).
class PackedMatrix {
public:
  /// Checks the spec and size; with `validateContent` also the bytes
  /// (validate()). Bytes must outlive the view.
  static Status create(const Spec &spec, int64_t out, int64_t in,
                       const uint8_t *data, size_t size, bool validateContent,
                       PackedMatrix &view);

  int64_t out() const { return g_.out; }
  int64_t in() const { return g_.in; }
  const Spec &spec() const { return s_; }
  const Geometry &geometry() const { return g_; }
  uint64_t bytes() const { return g_.totalBytes; }

  /// The dequantized row i: w[j] = scale * code + offset.
  void decodeRow(int64_t i, float *w) const;

  /// Prepares `scratch` for x [in] (once per input vector).
  void prepare(const float *x, GemvScratch &scratch) const;
  /// y[i - rowBegin] = W[i] . x for rows [rowBegin, rowEnd).
  void gemvRows(const float *x, const GemvScratch &scratch, float *y,
                int64_t rowBegin, int64_t rowEnd) const;
  /// y [out] = W x.
  void gemv(const float *x, float *y) const;

  /// Y[t, i] = X[t] . W[i] for t < n, rows [rowBegin, rowEnd); X is [n, in]
  /// with row stride ldx, Y has row stride ldy and column i at y + i.
  /// `tile` is scratch.
  void gemmRows(const float *x, int64_t n, int64_t ldx, float *y, int64_t ldy,
                int64_t rowBegin, int64_t rowEnd,
                std::vector<float> &tile) const;
  /// Y [n, out] = X [n, in] W^T.
  void gemm(const float *x, int64_t n, float *y) const;

private:
  void rowParams(int64_t i, float *params) const; // [groups][2 * pairs]
  /// Mixed kinds: the salient inputs of a row in increasing order, where
  /// their low code bits start, and the row's salient mask.
  struct SalientRow {
    const int32_t *inputs = nullptr;
    int64_t count = 0;
    const uint8_t *codes = nullptr; // bit stream of the low code bits
    uint64_t pos = 0, limit = 0;    // first bit; stream bytes
    const uint8_t *mask = nullptr;  // 1 bit per input
  };
  /// `inputs` holds in + 8 entries, `nmMask` (NM) ceil(in / 8) bytes.
  SalientRow salientRow(int64_t i, int32_t *inputs, uint8_t *nmMask) const;
  void decodeRowWith(int64_t i, float *w, float *params, int32_t *inputs,
                     uint8_t *nmMask) const;
  void gemvKBit(const float *x, const GemvScratch &scratch, float *y,
                int64_t rowBegin, int64_t rowEnd) const;
  void gemvMixed(const float *x, const GemvScratch &scratch, float *y,
                 int64_t rowBegin, int64_t rowEnd) const;

  Spec s_;
  Geometry g_;
  const uint8_t *data_ = nullptr;
  /// ChannelBlock: the salient input channels of each row block.
  std::vector<std::vector<uint32_t>> channels_;
};

} // namespace s10::quant::layout

#endif // S10_QUANT_PACKEDKERNELS_H
