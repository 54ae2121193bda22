//===- ArtifactWriter.cpp - Write .s10 artifacts for the tests ------------===//

#include "ArtifactWriter.h"

#include <cstdio>
#include <fstream>
#include <map>
#include <stdexcept>

using namespace s10rt;
using namespace s10rt::format;
using namespace s10rt::test;

uint32_t ArtifactData::addTensor(TensorData t) {
  tensors.push_back(std::move(t));
  return uint32_t(tensors.size() - 1);
}

uint32_t ArtifactData::addF32(const std::string &name,
                              std::vector<int64_t> dims,
                              const std::vector<float> &values) {
  TensorData t;
  t.dtype = DType::F32;
  t.rank = uint32_t(dims.size());
  for (size_t d = 0; d < dims.size(); ++d)
    t.dims[d] = dims[d];
  t.bytes.resize(values.size() * 4);
  std::memcpy(t.bytes.data(), values.data(), t.bytes.size());
  t.name = name;
  return addTensor(std::move(t));
}

uint32_t ArtifactData::addF16(const std::string &name,
                              std::vector<int64_t> dims,
                              const std::vector<uint16_t> &values) {
  TensorData t;
  t.dtype = DType::F16;
  t.rank = uint32_t(dims.size());
  for (size_t d = 0; d < dims.size(); ++d)
    t.dims[d] = dims[d];
  t.bytes.resize(values.size() * 2);
  std::memcpy(t.bytes.data(), values.data(), t.bytes.size());
  t.name = name;
  return addTensor(std::move(t));
}

uint32_t ArtifactData::addBuffer(uint32_t width, const std::string &name) {
  buffers.emplace_back(width, name);
  return uint32_t(buffers.size() - 1);
}

uint32_t ArtifactData::addStep(OpCode op, std::vector<uint32_t> in,
                               uint32_t out, std::vector<uint32_t> ts,
                               std::vector<int32_t> ints,
                               std::vector<float> floats,
                               const std::string &name) {
  StepData s;
  StepRecord &r = s.record;
  r.op = uint32_t(op);
  r.kernel = kNone;
  // A cpu Linear names its decode kernel here; none.
  r.reserved = op == OpCode::Linear ? kNone : 0;
  for (int k = 0; k < 3; ++k)
    r.in[k] = k < int(in.size()) ? in[k] : kNone;
  r.out = out;
  for (int k = 0; k < 2; ++k)
    r.tensor[k] = k < int(ts.size()) ? ts[k] : kNone;
  for (int k = 0; k < 4; ++k)
    r.i[k] = k < int(ints.size()) ? ints[k] : 0;
  for (int k = 0; k < 2; ++k)
    r.f[k] = k < int(floats.size()) ? floats[k] : 0.0f;
  s.name = name;
  steps.push_back(s);
  return uint32_t(steps.size() - 1);
}

uint32_t ArtifactData::addKernel(KernelAbi abi, const std::string &symbol) {
  kernels.push_back({abi, symbol});
  return uint32_t(kernels.size() - 1);
}

namespace {

uint64_t alignUp(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

class Strings {
public:
  Strings() { bytes_.push_back(0); }
  uint32_t add(const std::string &s) {
    if (s.empty())
      return 0;
    auto it = offsets_.find(s);
    if (it != offsets_.end())
      return it->second;
    uint32_t off = uint32_t(bytes_.size());
    bytes_.insert(bytes_.end(), s.begin(), s.end());
    bytes_.push_back(0);
    offsets_[s] = off;
    return off;
  }
  const std::vector<uint8_t> &bytes() const { return bytes_; }

private:
  std::vector<uint8_t> bytes_;
  std::map<std::string, uint32_t> offsets_;
};

template <typename T> void append(std::vector<uint8_t> &out, const T &v) {
  const uint8_t *p = reinterpret_cast<const uint8_t *>(&v);
  out.insert(out.end(), p, p + sizeof(T));
}

} // namespace

std::vector<uint8_t> ArtifactData::serialize(FileLayout *where) const {
  Strings strings;
  ModelConfig cfg = config;
  cfg.nameOffset = strings.add(name);

  // Weights: every tensor 64-aligned.
  std::vector<uint8_t> weights;
  std::vector<uint8_t> tensorRecords;
  for (const TensorData &t : tensors) {
    weights.resize(alignUp(weights.size(), 64), 0);
    TensorRecord r{};
    r.dtype = uint32_t(t.dtype);
    r.rank = t.rank;
    r.dims[0] = t.dims[0];
    r.dims[1] = t.dims[1];
    r.offset = weights.size();
    r.size = t.bytes.size();
    r.nameOffset = strings.add(t.name);
    r.pkKind = uint8_t(t.spec.kind);
    r.pkBits = uint8_t(t.spec.bits);
    r.pkSalientBits = uint8_t(t.spec.salientBits);
    r.pkParams = uint8_t(t.spec.params);
    r.pkGroupSize = t.spec.groupSize;
    r.pkBlock = t.spec.block;
    r.pkNmSalient = t.spec.nmSalient;
    r.pkSalientCount = t.spec.salientCount;
    if (t.dtype != DType::Packed) {
      r.pkKind = r.pkBits = r.pkSalientBits = r.pkParams = 0;
      r.pkGroupSize = r.pkBlock = r.pkNmSalient = r.pkSalientCount = 0;
    }
    append(tensorRecords, r);
    weights.insert(weights.end(), t.bytes.begin(), t.bytes.end());
  }
  cfg.weightBytes = weights.size();

  std::vector<uint8_t> plan;
  PlanHeader ph{};
  ph.bufferCount = uint32_t(buffers.size());
  ph.stepCount = uint32_t(steps.size());
  ph.logitsBuffer = logitsBuffer;
  ph.kvSlots = kvSlots;
  ph.kvWidth = kvWidth;
  append(plan, ph);
  for (const auto &[width, bname] : buffers) {
    BufferRecord b{width, strings.add(bname)};
    append(plan, b);
  }
  for (const StepData &s : steps) {
    StepRecord r = s.record;
    r.nameOffset = strings.add(s.name);
    append(plan, r);
  }

  std::vector<uint8_t> kernelBytes;
  bool withKernels = kernelsSection || !kernels.empty();
  if (withKernels) {
    KernelsHeader kh{};
    kh.count = uint32_t(kernels.size());
    uint64_t table = sizeof(KernelsHeader) + kernels.size() * 16;
    kh.codeOffset = code.empty() ? table : alignUp(table, 64);
    kh.codeSize = code.size();
    append(kernelBytes, kh);
    for (const KernelData &k : kernels) {
      KernelRecord r{};
      r.abi = uint32_t(k.abi);
      r.symbolOffset = strings.add(k.symbol);
      r.reserved[0] = k.reserved[0];
      r.reserved[1] = k.reserved[1];
      append(kernelBytes, r);
    }
    kernelBytes.resize(kh.codeOffset, 0);
    kernelBytes.insert(kernelBytes.end(), code.begin(), code.end());
  }

  struct Piece {
    SectionKind kind;
    const std::vector<uint8_t> *bytes;
  };
  std::vector<uint8_t> cfgBytes;
  append(cfgBytes, cfg);
  std::vector<Piece> pieces;
  pieces.push_back({SectionKind::Config, &cfgBytes});
  pieces.push_back({SectionKind::Strings, &strings.bytes()});
  pieces.push_back({SectionKind::Tensors, &tensorRecords});
  pieces.push_back({SectionKind::Plan, &plan});
  if (withKernels)
    pieces.push_back({SectionKind::Kernels, &kernelBytes});
  pieces.push_back({SectionKind::Weights, &weights});

  std::vector<uint8_t> file(sizeof(Header) + pieces.size() * 32, 0);
  FileLayout layout;
  std::vector<SectionRecord> table;
  for (const Piece &p : pieces) {
    uint64_t align = p.kind == SectionKind::Weights ? kWeightsAlign : 64;
    file.resize(alignUp(file.size(), align), 0);
    SectionRecord s{};
    s.kind = uint32_t(p.kind);
    s.offset = file.size();
    s.size = p.bytes->size();
    layout.offset[s.kind] = s.offset;
    layout.size[s.kind] = s.size;
    table.push_back(s);
    file.insert(file.end(), p.bytes->begin(), p.bytes->end());
  }
  for (size_t i = 0; i < table.size(); ++i)
    std::memcpy(file.data() + sizeof(Header) + 32 * i, &table[i], 32);
  Header h{};
  std::memcpy(h.magic, kMagic, 8);
  h.version = kVersion;
  h.headerSize = sizeof(Header);
  h.target = target;
  h.sectionCount = uint32_t(table.size());
  h.fileSize = file.size();
  h.sectionTableOffset = sizeof(Header);
  std::memcpy(file.data(), &h, sizeof(h));
  refreshChecksums(file);
  if (where)
    *where = layout;
  return file;
}

void s10rt::test::refreshHeaderChecksum(std::vector<uint8_t> &file) {
  poke<uint64_t>(file, offsetof(Header, headerChecksum),
                 checksum(file.data(), 48));
}

void s10rt::test::refreshChecksums(std::vector<uint8_t> &file) {
  poke<uint64_t>(file, offsetof(Header, payloadChecksum),
                 checksum(file.data() + 64, file.size() - 64));
  refreshHeaderChecksum(file);
}

void s10rt::test::writeFile(const std::string &path,
                            const std::vector<uint8_t> &bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char *>(bytes.data()),
          std::streamsize(bytes.size()));
  if (!f)
    throw std::runtime_error("cannot write " + path);
}

std::vector<uint8_t> s10rt::test::readFile(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  if (!f)
    throw std::runtime_error("cannot read " + path);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}
