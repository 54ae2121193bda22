//===- Layout.h - Packed weight layouts: the bytes a kernel streams -*- C++
//-*-===//
//
// The one description of every packed layout s10 ships: which parts (bit
// planes, indices, group parameters) a packed weight has, their sizes,
// offsets and alignment, how a logical quantized weight is encoded into them
// and decoded back, and how the bytes are validated. The packer, the
// reference kernels (PackedKernels.h), the executor, the artifact writer and
// the MLIR decode emitter all read layouts through this header.
//
// Plain C++17 with no LLVM dependency: the deployable runtime compiles it.
// docs/packed-layouts.md has the byte diagrams.
//
// Every weight decodes as `scale * code + offset` with the (scale, offset)
// pair of its (row, group): the binarized / low-bit part and the salient
// part each have their own pair. Binary codes are {0, 1} (scale = 2 alpha,
// offset = mu - alpha), k-bit codes are [0, 2^k - 1] (offset = -scale zero).
//
//===----------------------------------------------------------------------===//

#ifndef S10_QUANT_LAYOUT_H
#define S10_QUANT_LAYOUT_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace s10::quant::layout {

/// An error message, or success.
class Status {
public:
  static Status ok() { return Status(); }
  static Status error(std::string message) {
    Status s;
    s.message_ = std::move(message);
    s.failed_ = true;
    return s;
  }
  bool failed() const { return failed_; }
  explicit operator bool() const { return !failed_; }
  const std::string &message() const { return message_; }

private:
  std::string message_;
  bool failed_ = false;
};

enum class Kind : uint8_t {
  /// k-bit codes of every weight, one (scale, offset) per group. Binary
  /// weights (alpha sign(w - mu) + mu) are the 1-bit case.
  KBit = 0,
  /// Squeeze10 / PB-LLM: a sign plane, a 1-bit salient mask per weight, the
  /// salient codes' remaining bits stored compactly, row offsets into them.
  Bitmap = 1,
  /// Structured salience: salient input channels shared by a block of
  /// `block` rows (a channel bitmap per row block), no per-weight mask.
  ChannelBlock = 2,
  /// N:M salience: exactly `nmSalient` salient weights among every `block`
  /// consecutive inputs of a row, stored as log2(block)-bit indices.
  NM = 3,
  /// Codes in [0, 2] (bits = 2), five per byte as a base-3 fraction
  /// (encodeTrits): 1.6 bits per weight, one (scale, offset) per group. The
  /// codes of the whole tensor are one stream in row-major order, so the
  /// input size must be a multiple of 8 (a chunk of eight codes never
  /// crosses a row; five chunks are one aligned 8-byte word).
  Ternary = 4,
};

enum class ParamFormat : uint8_t {
  /// (scale, offset) of every group as two IEEE fp16 values.
  F16 = 0,
  /// Per row one fp16 super-scale for each of scale and offset (row max of
  /// |value|); per group an unsigned 8-bit scale code and a signed 8-bit
  /// offset code: scale = S * c / 255, offset = O * c / 127.
  Q8 = 1,
  /// As Q8 with one pair of super-scales for the whole tensor: 32 bits per
  /// row fewer, which at 384 inputs is 0.083 bits per weight.
  Q8T = 2,
};

const char *kindName(Kind k);
const char *paramFormatName(ParamFormat f);

/// Bits per weight of the codes alone, `salient` of `weights` entries at
/// `salientBits` and the rest at `bits`: the payload, which leaves out
/// masks, indices and group parameters (never to be shown alone).
inline double payloadBitsPerWeight(unsigned bits, unsigned salientBits,
                                   double salient, double weights) {
  return weights > 0
             ? ((weights - salient) * bits + salient * salientBits) / weights
             : 0.0;
}

/// True bits per weight: every byte a kernel reads for the weight.
inline double trueBitsPerWeight(double bytes, double weights) {
  return weights > 0 ? bytes * 8.0 / weights : 0.0;
}
bool parseKind(const std::string &name, Kind &kind);
bool parseParamFormat(const std::string &name, ParamFormat &format);

/// Parameters of a layout; together with the weight shape they fix every
/// size and offset.
struct Spec {
  Kind kind = Kind::KBit;
  unsigned bits = 4;        // low part: 1 (binary) .. 8
  int64_t groupSize = 128;  // input channels per group (resolved, >= 1)
  unsigned salientBits = 0; // mixed kinds: 2 .. 8, > bits; KBit: 0
  ParamFormat params = ParamFormat::F16;
  int64_t block = 0;        // ChannelBlock: rows per block; NM: M
  int64_t nmSalient = 0;    // NM: salient weights per block of M
  int64_t salientCount = 0; // Bitmap: salient weights in the matrix

  bool mixed() const { return kind != Kind::KBit && kind != Kind::Ternary; }
  /// Pairs of group parameters: 1 for KBit, 2 for mixed kinds.
  unsigned paramPairs() const { return mixed() ? 2 : 1; }
};

/// The parts of a packed weight, in storage order.
enum class PartId : uint8_t {
  Codes,        // KBit: [out][rowBytes] bits-wide codes; Ternary: a stream
  Signs,        // mixed: [out][rowBytes] 1 bit per weight
  Mask,         // Bitmap: [out][rowBytes] 1 bit per weight
  ChannelMask,  // ChannelBlock: [blocks][rowBytes] 1 bit per input channel
  Indices,      // NM: [out][rowBytes] log2(M)-bit indices
  Offsets,      // Bitmap: u32 [out] / ChannelBlock: u32 [blocks]
  SalientCodes, // mixed: (salientBits - 1)-bit codes, bit stream
  SuperScales,  // Q8: fp16 [out][2 * pairs]; Q8T: fp16 [2 * pairs]
  Params,       // F16: fp16 [out][groups][2 * pairs]; Q8, Q8T: u8/i8
};
const char *partName(PartId id);

struct Part {
  PartId id;
  uint64_t offset = 0;   // from the start of the packed weight, 64-aligned
  uint64_t size = 0;     // bytes, including row padding
  uint64_t rowBytes = 0; // row stride for row-structured parts, else 0
};

/// Every part starts at a multiple of this many bytes.
constexpr uint64_t kPartAlign = 64;
/// Rows of bit planes are padded to this many bytes (one 128-bit load);
/// the N:M index and code rows, whose size is fixed per row, only to bytes.
constexpr uint64_t kRowAlign = 16;

/// Sizes and offsets of a packed [out x in] weight.
struct Geometry {
  int64_t out = 0, in = 0, groups = 0;
  std::vector<Part> parts;
  uint64_t totalBytes = 0;
  const Part *find(PartId id) const;
};

/// Checks the spec against the shape; on success fills `geometry`.
Status describe(const Spec &spec, int64_t out, int64_t in, Geometry &geometry);

/// A quantized weight in logical form: what the unpacked IR op holds.
struct Logical {
  int64_t out = 0, in = 0;
  int64_t groupSize = 0;
  std::vector<uint8_t> codes;   // [out * in]: binary 0/1, k-bit, or salient
  std::vector<uint8_t> salient; // [out * in] 0/1; empty: none salient
  std::vector<float> scales, offsets;               // [out * groups]
  std::vector<float> salientScales, salientOffsets; // mixed only
  int64_t groups() const {
    return groupSize > 0 ? (in + groupSize - 1) / groupSize : 0;
  }
  float value(int64_t i, int64_t j) const; // the dequantized weight
};

/// The layout a logical weight needs: fills the count-dependent fields of
/// `spec` (salientCount) from the mask and checks that the weight fits the
/// layout's structure (codes in range, salience pattern, finite params).
Status fit(Spec &spec, const Logical &w);

/// Encodes `w` into `bytes` (resized to the geometry's total). Parameters
/// are rounded to the spec's format; everything else is lossless.
Status pack(const Spec &spec, const Logical &w, std::vector<uint8_t> &bytes);

/// Checks packed bytes: size, padding bits zero, salience counts and
/// offsets consistent, indices ordered, parameters finite. Every reader runs
/// this (or trusts bytes it checked before) so decoding never reads out of
/// bounds.
Status validate(const Spec &spec, int64_t out, int64_t in, const uint8_t *data,
                size_t size);

/// Decodes validated bytes into logical form (parameters as the f32 values
/// the kernels use).
Status unpack(const Spec &spec, int64_t out, int64_t in, const uint8_t *data,
              size_t size, Logical &w);

/// Ternary bytes: codes t[0..4] in [0, 2] as q = ceil(256 v / 243) with
/// v = sum t[k] 3^(4 - k); code k is ((q 3^k) mod 256) 3 >> 8, two
/// multiplies and no division in a kernel. 243 of the 256 byte values are
/// encodings; validate() refuses the others.
inline uint8_t encodeTrits(const uint8_t t[5]) {
  unsigned v = 0;
  for (int k = 0; k < 5; ++k)
    v = 3 * v + t[k];
  return uint8_t((256 * v + 242) / 243);
}
/// 3^k for the five digits of a ternary byte (decodeTrit's multipliers,
/// which the kernels take from here).
inline constexpr unsigned kTritWeights[5] = {1, 3, 9, 27, 81};
inline unsigned decodeTrit(uint8_t q, unsigned k) {
  return (unsigned(uint8_t(q * kTritWeights[k])) * 3u) >> 8;
}
/// Ternary: code of weight (i, j) from the stream.
inline unsigned ternaryCode(const uint8_t *codes, int64_t in, int64_t i,
                            int64_t j) {
  uint64_t f = uint64_t(i) * uint64_t(in) + uint64_t(j);
  return decodeTrit(codes[f / 5], unsigned(f % 5));
}

/// IEEE binary16 conversions, round to nearest even.
uint16_t floatToHalf(float f);
float halfToFloat(uint16_t h);

/// 8-bit parameter codes of the Q8 format.
uint8_t encodeQ8Scale(float value, float super);
int8_t encodeQ8Offset(float value, float super);
inline float decodeQ8Scale(uint8_t c, float super) {
  return super * float(c) * (1.0f / 255.0f);
}
inline float decodeQ8Offset(int8_t c, float super) {
  return super * float(c) * (1.0f / 127.0f);
}

/// The parameters as stored: round `v` through the format. For Q8 `super` is
/// the row's super-scale, for Q8T the tensor's (already fp16-rounded).
float roundParam(ParamFormat f, bool isScale, float v, float super);

} // namespace s10::quant::layout

#endif // S10_QUANT_LAYOUT_H
