//===- Session.cpp - Run the plan over a chunk of tokens ------------------===//

#include "Session.h"

#include "Error.h"
#include "Gemm.h"
#include "Kernels.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <limits>

using namespace s10rt;
using namespace s10rt::format;

namespace {

/// Rows of a weight each thread takes at once in a GEMV: whole cache lines
/// of the output.
constexpr int64_t kTile = 16;
/// Rows of a weight decoded into one panel for the GEMM of a chunk.
constexpr int64_t kPanel = 64;
/// Chunks of at least this many tokens multiply decoded panels; shorter
/// ones run the GEMV (or the generated kernel) per token, as decode does.
constexpr int64_t kGemmTokens = 4;
/// Queries of one head attended together in a chunk.
constexpr int64_t kQueryRows = 32;
/// Positions per block of the key cache (the Attend kernels' layout).
constexpr int64_t kKeyBlock = format::kAttendKeyBlock;
/// Elementwise work below this many floats runs on the calling thread: a
/// dispatch costs more than it saves.
constexpr int64_t kParallelFloats = 32768;
constexpr uint32_t kMaxThreads = 1024;

unsigned threadCount(const s10_session_options_t &o) {
  if (o.threads > kMaxThreads)
    throw Error(S10_INVALID_ARGUMENT,
                "threads is " + std::to_string(o.threads) + ", at most " +
                    std::to_string(kMaxThreads) + " allowed");
  unsigned n = o.threads ? o.threads : std::thread::hardware_concurrency();
  return std::max(1u, std::min(n, kMaxThreads));
}

/// a * b + c floats, or an error if that does not fit 2^40.
uint64_t floatsFor(uint64_t a, uint64_t b, uint64_t c = 0) {
  uint64_t n;
  if (__builtin_mul_overflow(a, b, &n) || __builtin_add_overflow(n, c, &n) ||
      n > (uint64_t(1) << 40))
    throw Error(S10_RESOURCE_EXHAUSTED, "the session needs too much memory");
  return n;
}

} // namespace

Session::Session(std::shared_ptr<const Model> model,
                 const s10_session_options_t &options)
    : model_(std::move(model)), pool_(threadCount(options)) {
  const Model &m = *model_;
  sessionLengths(m, options, maxContext_, maxChunk_);

  uint64_t widths = 0;
  for (uint32_t w : m.bufferWidths)
    widths += w;
  arena_.assign(size_t(floatsFor(widths, maxChunk_)), 0.0f);
  uint64_t offset = 0;
  for (uint32_t w : m.bufferWidths) {
    buffers_.push_back(arena_.data() + offset);
    offset += uint64_t(w) * maxChunk_;
  }
  uint64_t keyBlocks = (maxContext_ + kKeyBlock - 1) / kKeyBlock;
  valuesOffset_ = size_t(floatsFor(keyBlocks * kKeyBlock, m.plan.kvWidth));
  kvSlotFloats_ = size_t(floatsFor(keyBlocks * kKeyBlock, m.plan.kvWidth,
                                   floatsFor(maxContext_, m.plan.kvWidth)));
  // Score rows padded past a multiple of 4 KiB: rows of a block of queries
  // would otherwise share cache sets.
  scoreStride_ = int64_t(keyBlocks * kKeyBlock + 16);
  kv_.assign(size_t(floatsFor(m.plan.kvSlots, kvSlotFloats_)), 0.0f);
  for (const Matrix &mat : m.matrices)
    maxIn_ = std::max(maxIn_, mat.in);
  aliasOut_.assign(size_t(floatsFor(maxChunk_, m.maxWidth)), 0.0f);
  // Per thread: the decoded rows of a panel and the panel, or the scores
  // of a block of queries.
  scratchPerThread_ =
      size_t(std::max(floatsFor(2 * kPanel, uint64_t(maxIn_)),
                      floatsFor(kQueryRows, uint64_t(scoreStride_))));
  scratch_.assign(size_t(floatsFor(pool_.size(), scratchPerThread_)), 0.0f);
  rotary_.resize(m.rotaryFreqs.size());
  // Runs of Linear steps reading one buffer and writing distinct others.
  linearGroup_.assign(m.steps.size(), 1);
  for (size_t i = 0; i < m.steps.size(); ++i) {
    const Step &s = m.steps[i];
    if (s.op != OpCode::Linear || s.out == s.in[0])
      continue;
    size_t j = i + 1;
    for (; j < m.steps.size() && j - i < kMaxGroup; ++j) {
      const Step &n = m.steps[j];
      bool distinct = n.out != n.in[0];
      for (size_t k = i; k < j; ++k)
        distinct &= m.steps[k].out != n.out;
      if (n.op != OpCode::Linear || n.in[0] != s.in[0] || !distinct)
        break;
    }
    linearGroup_[i] = j - i;
    i = j - 1;
  }
}

void Session::reset() {
  length_ = 0;
  logits_ = nullptr;
}

void Session::ensureRotary(int64_t positions) {
  const Model &m = *model_;
  for (size_t k = 0; k < rotary_.size(); ++k) {
    RotaryTable &r = rotary_[k];
    if (positions <= r.positions)
      continue;
    const std::vector<float> &inv = m.rotaryFreqs[k];
    int64_t half = int64_t(inv.size());
    int64_t size = std::min<int64_t>(
        maxContext_, std::max<int64_t>({positions, 2 * r.positions, 256}));
    r.cos.resize(size_t(size * half));
    r.sin.resize(size_t(size * half));
    // As the interpreter computes them: the angle in f32, cos and sin in
    // double.
    for (int64_t p = r.positions; p < size; ++p)
      for (int64_t i = 0; i < half; ++i)
        kernels::rotaryAngle(inv[size_t(i)], p, r.cos[size_t(p * half + i)],
                             r.sin[size_t(p * half + i)]);
    r.positions = size;
  }
}

void s10rt::sessionLengths(const Model &model,
                           const s10_session_options_t &options,
                           uint32_t &maxContext, uint32_t &maxChunk) {
  uint32_t maxPos = model.config.maxPositions;
  if (options.max_context > maxPos)
    throw Error(S10_INVALID_ARGUMENT,
                "max_context " + std::to_string(options.max_context) +
                    " exceeds the model's max_positions " +
                    std::to_string(maxPos));
  maxContext = options.max_context ? options.max_context : maxPos;
  maxChunk = std::min(options.max_chunk ? options.max_chunk : 512u, maxContext);
}

void s10rt::checkPrefill(const Model &model, const int32_t *ids, size_t count,
                         size_t length, uint32_t maxContext) {
  if (!ids)
    throw Error(S10_INVALID_ARGUMENT, "ids is null");
  if (count > maxContext - length)
    throw Error(S10_OUT_OF_RANGE, "context full: " + std::to_string(length) +
                                      " tokens + " + std::to_string(count) +
                                      " new exceed max_context " +
                                      std::to_string(maxContext));
  for (size_t t = 0; t < count; ++t)
    if (ids[t] < 0 || uint32_t(ids[t]) >= model.config.vocab)
      throw Error(S10_OUT_OF_RANGE, "token id " + std::to_string(ids[t]) +
                                        " (at " + std::to_string(t) +
                                        ") is outside the vocab of " +
                                        std::to_string(model.config.vocab));
}

void Session::prefill(const int32_t *ids, size_t count, float *allLogits) {
  const Model &m = *model_;
  if (count == 0)
    return;
  checkPrefill(m, ids, count, length_, maxContext_);
  ensureRotary(int64_t(length_ + count));
  const float *logitsBuf = buffer(m.plan.logitsBuffer);
  size_t vocab = m.config.vocab;
  for (size_t done = 0; done < count;) {
    int64_t tokens = int64_t(std::min<size_t>(maxChunk_, count - done));
    runChunk(ids + done, tokens);
    if (allLogits)
      std::memcpy(allLogits + done * vocab, logitsBuf,
                  size_t(tokens) * vocab * sizeof(float));
    length_ += size_t(tokens);
    done += size_t(tokens);
    // The arena keeps it until the next call runs.
    logits_ = logitsBuf + size_t(tokens - 1) * vocab;
  }
}

void Session::runChunk(const int32_t *ids, int64_t tokens) {
  const std::vector<Step> &steps = model_->steps;
  for (size_t i = 0; i < steps.size(); ++i) {
    const Step &s = steps[i];
    switch (s.op) {
    case OpCode::Embedding:
      embedding(s, ids, tokens);
      break;
    case OpCode::RMSNorm:
      rmsNorm(s, tokens);
      break;
    case OpCode::Linear:
      linears(&s, linearGroup_[i], tokens);
      i += linearGroup_[i] - 1;
      break;
    case OpCode::Rotary:
      rotary(s, tokens);
      break;
    case OpCode::Attention:
      attention(s, tokens);
      break;
    case OpCode::SwiGLU:
    case OpCode::Add:
      elementwise(s, tokens);
      break;
    case OpCode::LinearAdd:
    case OpCode::LinearSwiGLU:
    case OpCode::NormLinear:
    case OpCode::NormLinearSwiGLU:
    case OpCode::NormLinearQKV:
    case OpCode::RopeAttention:
      // The loader keeps fused steps to cuda artifacts.
      throw Error(S10_INTERNAL, "a fused step in a cpu plan");
    }
  }
}

void Session::embedding(const Step &s, const int32_t *ids, int64_t tokens) {
  const Matrix &table = model_->matrices[size_t(s.matrix)];
  int64_t w = table.in;
  float *y = buffer(s.out);
  if (s.fn) {
    reinterpret_cast<EmbeddingFn>(s.fn)(table.data, ids, y, tokens);
    return;
  }
  for (int64_t t = 0; t < tokens; ++t) {
    // Ids were checked against the vocab, the table's row count.
    int64_t row = ids[t];
    if (table.dtype == DType::F32)
      std::memcpy(y + t * w, table.data + row * w * 4, size_t(w) * 4);
    else
      kernels::halfToFloat(reinterpret_cast<const uint16_t *>(table.data) +
                               row * w,
                           y + t * w, w);
  }
}

void Session::rmsNorm(const Step &s, int64_t tokens) {
  int64_t w = model_->bufferWidths[s.out];
  const float *x = buffer(s.in[0]);
  float *y = buffer(s.out);
  auto rows = [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      if (s.fn)
        reinterpret_cast<RMSNormRowFn>(s.fn)(x + t * w, s.weightBytes,
                                             y + t * w);
      else
        kernels::rmsNormRow(x + t * w, s.vector.data(), w, s.f[0], y + t * w);
    }
  };
  if (tokens * w < kParallelFloats)
    rows(0, tokens);
  else
    pool_.parallelFor(tokens, 1, pool_.size(),
                      [&](unsigned, int64_t t0, int64_t t1) { rows(t0, t1); });
}

void Session::linears(const Step *group, size_t count, int64_t tokens) {
  const Model &m = *model_;
  struct Member {
    const Step *s;
    const Matrix *mat;
    float *y;
    int64_t first; // its first panel (GEMM) or row (GEMV) in the group
  };
  Member ms[kMaxGroup];
  int64_t panels = 0, rows = 0;
  bool fused = true;
  for (size_t i = 0; i < count; ++i) {
    const Step &s = group[i];
    const Matrix &mat = m.matrices[size_t(s.matrix)];
    // In place (never in a group of several): write a copy, then move it
    // over the input.
    float *y = s.out == s.in[0] ? aliasOut_.data() : buffer(s.out);
    ms[i] = {&s, &mat, y, tokens >= kGemmTokens ? panels : rows};
    panels += (mat.out + kPanel - 1) / kPanel;
    rows += mat.out;
    // The reference packed GEMV prepares per matrix and token.
    fused &= s.fn || mat.dtype != DType::Packed;
  }
  const float *x = buffer(group[0].in[0]);
  auto member = [&](int64_t unit) {
    size_t i = 0;
    while (i + 1 < count && ms[i + 1].first <= unit)
      ++i;
    return ms[i];
  };
  if (tokens >= kGemmTokens) {
    // Panels are dealt out as threads come for them: on a busy machine the
    // threads that run get the work.
    pool_.forEach(panels, [&](unsigned part, int64_t unit) {
      Member mb = member(unit);
      gemmPanel(*mb.s, *mb.mat, x, mb.y, tokens, (unit - mb.first) * kPanel,
                threadScratch(part));
    });
  } else if (fused) {
    // Rows of all members split evenly, in whole cache lines of output.
    pool_.parallelFor(
        rows, kTile, pool_.size(), [&](unsigned part, int64_t b, int64_t e) {
          for (size_t i = 0; i < count; ++i) {
            const Member &mb = ms[i];
            int64_t r0 = std::max(b, mb.first) - mb.first,
                    r1 = std::min(e, mb.first + mb.mat->out) - mb.first;
            if (r0 < r1)
              gemvRows(*mb.s, *mb.mat, x, mb.y, tokens, r0, r1,
                       threadScratch(part));
          }
        });
  } else {
    for (size_t i = 0; i < count; ++i) {
      const Matrix &mat = *ms[i].mat;
      if (ms[i].s->fn || mat.dtype != DType::Packed) {
        pool_.parallelFor(mat.out, kTile, pool_.size(),
                          [&](unsigned part, int64_t r0, int64_t r1) {
                            gemvRows(*ms[i].s, mat, x, ms[i].y, tokens, r0, r1,
                                     threadScratch(part));
                          });
        continue;
      }
      for (int64_t t = 0; t < tokens; ++t) {
        const float *xt = x + t * mat.in;
        float *yt = ms[i].y + t * mat.out;
        mat.packed.prepare(xt, gemv_);
        pool_.parallelFor(mat.out, kTile, pool_.size(),
                          [&](unsigned, int64_t r0, int64_t r1) {
                            mat.packed.gemvRows(xt, gemv_, yt + r0, r0, r1);
                          });
      }
    }
  }
  for (size_t i = 0; i < count; ++i) {
    const Step &s = *ms[i].s;
    int64_t out = ms[i].mat->out;
    float *y = ms[i].y;
    if (!s.vector.empty())
      for (int64_t t = 0; t < tokens; ++t)
        kernels::add(y + t * out, s.vector.data(), y + t * out, out);
    if (y == aliasOut_.data())
      std::memcpy(buffer(s.out), y, size_t(tokens * out) * sizeof(float));
  }
}

void Session::gemvRows(const Step &s, const Matrix &mat, const float *x,
                       float *y, int64_t tokens, int64_t r0, int64_t r1,
                       float *scratch) {
  const int64_t in = mat.in, out = mat.out;
  for (int64_t t = 0; t < tokens; ++t) {
    if (s.fn)
      reinterpret_cast<GemvFn>(s.fn)(s.weightBytes, x + t * in, y + t * out, r0,
                                     r1);
    else if (mat.dtype == DType::F32)
      kernels::gemvF32(reinterpret_cast<const float *>(mat.data), in,
                       x + t * in, y + t * out, r0, r1);
    else
      kernels::gemvF16(reinterpret_cast<const uint16_t *>(mat.data), in,
                       x + t * in, y + t * out, r0, r1, scratch);
  }
}

void Session::gemmPanel(const Step &s, const Matrix &mat, const float *x,
                        float *y, int64_t tokens, int64_t r0, float *scratch) {
  const int64_t in = mat.in, rows = std::min(kPanel, mat.out - r0);
  float *panel = scratch, *rowsBuf = scratch + kPanel * in;
  // The rows become the columns of the panel: panel[k][r].
  if (mat.dtype == DType::F32) {
    gemm::packColumns(reinterpret_cast<const float *>(mat.data) + r0 * in, in,
                      rows, in, panel, kPanel);
  } else if (mat.dtype == DType::F16) {
    gemm::packColumnsHalf(reinterpret_cast<const uint16_t *>(mat.data) +
                              r0 * in,
                          in, rows, in, panel, kPanel);
  } else {
    for (int64_t r = 0; r < rows; ++r)
      if (s.decodeFn)
        s.decodeFn(s.weightBytes, rowsBuf + r * in, r0 + r);
      else
        mat.packed.decodeRow(r0 + r, rowsBuf + r * in);
    gemm::packColumns(rowsBuf, in, rows, in, panel, kPanel);
  }
  gemm::multiply(x, in, panel, kPanel, y + r0, mat.out, tokens, rows, in, false,
                 model_->gemmKernels());
}

void Session::rotary(const Step &s, int64_t tokens) {
  const RotaryTable &table = rotary_[size_t(s.rotary)];
  int64_t heads = s.i[0], dim = s.i[1], half = dim / 2, w = heads * dim;
  const float *x = buffer(s.in[0]);
  float *y = buffer(s.out);
  int64_t pos0 = int64_t(length_);
  auto rows = [&](int64_t t0, int64_t t1) {
    if (s.fn) {
      int64_t p = pos0 + t0;
      reinterpret_cast<RotaryFn>(s.fn)(x + t0 * w, table.cos.data() + p * half,
                                       table.sin.data() + p * half, y + t0 * w,
                                       t1 - t0);
      return;
    }
    for (int64_t t = t0; t < t1; ++t) {
      int64_t p = pos0 + t;
      kernels::rotaryRow(x + t * w, heads, dim, table.cos.data() + p * half,
                         table.sin.data() + p * half, y + t * w);
    }
  };
  if (tokens * w < kParallelFloats)
    rows(0, tokens);
  else
    pool_.parallelFor(tokens, 1, pool_.size(),
                      [&](unsigned, int64_t t0, int64_t t1) { rows(t0, t1); });
}

void Session::attention(const Step &s, int64_t tokens) {
  const Model &m = *model_;
  const int64_t heads = s.i[0], kvHeads = s.i[1], dim = s.i[2];
  const int64_t group = heads / kvHeads, qW = heads * dim;
  const int64_t kvW = m.plan.kvWidth, pos0 = int64_t(length_);
  float *kT = kv_.data() + size_t(s.i[3]) * kvSlotFloats_;
  float *v = kT + valuesOffset_;
  // The chunk's keys and values join the cache first: the output may then
  // overwrite the key or value buffer.
  const float *kIn = buffer(s.in[1]);
  for (int64_t t = 0; t < tokens; ++t) {
    int64_t p = pos0 + t;
    float *block = kT + p / kKeyBlock * kKeyBlock * kvW + p % kKeyBlock;
    for (int64_t c = 0; c < kvW; ++c)
      block[c * kKeyBlock] = kIn[t * kvW + c];
  }
  std::memcpy(v + pos0 * kvW, buffer(s.in[2]),
              size_t(tokens * kvW) * sizeof(float));
  const float *q = buffer(s.in[0]);
  float *out = buffer(s.out);
  // A chunk: blocks of consecutive queries of one head, the latest (and
  // longest) first. One token: the heads sharing a kv head, split so that
  // every thread gets some.
  int64_t tasks, rowsPer = 0, blocks = 0;
  if (tokens > 1) {
    blocks = (tokens + kQueryRows - 1) / kQueryRows;
    tasks = heads * blocks;
  } else {
    int64_t split = std::min<int64_t>(
        group, (int64_t(pool_.size()) + kvHeads - 1) / kvHeads);
    rowsPer = std::min((group + split - 1) / split, kQueryRows);
    tasks = kvHeads * ((group + rowsPer - 1) / rowsPer);
  }
  pool_.forEach(tasks, [&](unsigned part, int64_t task) {
    float *scores = threadScratch(part);
    if (tokens > 1) {
      int64_t h = task % heads, t0 = (blocks - 1 - task / heads) * kQueryRows;
      int64_t rows = std::min(kQueryRows, tokens - t0);
      // Blocks of queries go through the GEMM (the generated kernel runs
      // one query at a time: about 15 % slower prefill).
      attendRows(s, h / group, q + t0 * qW + h * dim, qW,
                 out + t0 * qW + h * dim, rows, pos0 + t0 + 1, 1, scores);
    } else {
      int64_t perKv = (group + rowsPer - 1) / rowsPer;
      int64_t g = task / perKv, h0 = g * group + task % perKv * rowsPer;
      int64_t rows = std::min(rowsPer, (g + 1) * group - h0);
      if (s.fn)
        reinterpret_cast<AttendFn>(s.fn)(q + h0 * dim, kT + g * dim * kKeyBlock,
                                         v + g * dim, out + h0 * dim, scores,
                                         rows, dim, pos0 + 1, 0);
      else
        attendRows(s, g, q + h0 * dim, dim, out + h0 * dim, rows, pos0 + 1, 0,
                   scores);
    }
  });
}

/// Queries r < rows (row r at q + r * qStride) of kv head g, query r seeing
/// positions [0, n0 + r * inc): S = Q K^T, softmax per row, then S V over
/// the positions all rows see and each row's further ones after it, so
/// every output is one chain over its positions in order. Q is read
/// before `out` (which may be Q) is written.
void Session::attendRows(const Step &s, int64_t g, const float *q,
                         int64_t qStride, float *out, int64_t rows, int64_t n0,
                         int64_t inc, float *scores) {
  const int64_t dim = s.i[2], kvW = model_->plan.kvWidth, ld = scoreStride_;
  const float *kT = kv_.data() + size_t(s.i[3]) * kvSlotFloats_;
  const float *v = kT + valuesOffset_ + g * dim;
  kT += g * dim * kKeyBlock;
  const int64_t n = n0 + (rows - 1) * inc;
  const gemm::KernelSet *ks = model_->gemmKernels();
  for (int64_t j = 0; j < n; j += kKeyBlock)
    gemm::multiply(q, qStride, kT + j * kvW, kKeyBlock, scores + j, ld, rows,
                   std::min(kKeyBlock, n - j), dim, false, ks);
  bool finite[kQueryRows];
  for (int64_t r = 0; r < rows; ++r)
    finite[r] = kernels::softmax(scores + r * ld, n0 + r * inc, s.f[0]);
  gemm::multiply(scores, ld, v, kvW, out, qStride, rows, dim, n0, false, ks);
  for (int64_t r = 1; r < rows && inc; ++r)
    gemm::multiply(scores + r * ld + n0, ld, v + n0 * kvW, kvW,
                   out + r * qStride, qStride, 1, dim, r * inc, true, ks);
  for (int64_t r = 0; r < rows; ++r)
    if (!finite[r])
      std::fill(out + r * qStride, out + r * qStride + dim,
                std::numeric_limits<float>::quiet_NaN());
}

void Session::elementwise(const Step &s, int64_t tokens) {
  int64_t n = tokens * int64_t(model_->bufferWidths[s.out]);
  const float *a = buffer(s.in[0]), *b = buffer(s.in[1]);
  float *y = buffer(s.out);
  auto range = [&](int64_t i0, int64_t i1) {
    if (s.fn)
      reinterpret_cast<BinaryFn>(s.fn)(a + i0, b + i0, y + i0, i1 - i0);
    else if (s.op == OpCode::SwiGLU)
      kernels::swiglu(a + i0, b + i0, y + i0, i1 - i0);
    else
      kernels::add(a + i0, b + i0, y + i0, i1 - i0);
  };
  if (n < kParallelFloats)
    range(0, n);
  else
    pool_.parallelFor(n, 64, pool_.size(),
                      [&](unsigned, int64_t i0, int64_t i1) { range(i0, i1); });
}
