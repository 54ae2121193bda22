//===- SalientMask.h - Top-r salient selection -----------------*- C++ -*-===//
//
// Marks the top fraction r of a salience matrix M [dout x din] per unit:
//   Layer:      the whole matrix (one global threshold, PB-LLM);
//   Row:        each row;
//   Group:      each (row, group of groupSize consecutive columns; the last
//               group may be shorter);
//   Structured: whole input channels per block of blockRows rows (0: all
//               rows; the last block may be shorter), scored by the column
//               sum of M over the block (needs a permutation, not an index).
// A unit of n candidates keeps round(r * n) (half away from zero) of them:
// for Structured n = din and whole columns are marked. Ties are broken
// deterministically by lower index (flat row-major index, or column).
//
//===----------------------------------------------------------------------===//

#ifndef S10_QUANT_SALIENTMASK_H
#define S10_QUANT_SALIENTMASK_H

#include "s10/Quant/Matrix.h"

namespace s10::quant {

enum class MaskGranularity { Layer, Row, Group, Structured };

struct MaskOptions {
  double ratio = 0.2; // r in [0, 1]
  MaskGranularity granularity = MaskGranularity::Layer;
  int64_t groupSize = 128; // Group
  int64_t blockRows = 0;   // Structured; 0: one block of all rows
};

/// round(ratio * n), half away from zero, clamped to [0, n].
int64_t salientCount(int64_t n, double ratio);

/// Mask with 1 for salient entries. Errors: r outside [0, 1], bad sizes,
/// non-finite M.
llvm::Expected<Mask> selectSalient(const Matrix &m,
                                   const MaskOptions &options = {});

} // namespace s10::quant

#endif // S10_QUANT_SALIENTMASK_H
