//===- ArtifactWriter.h - Write .s10 artifacts for the tests ----*- C++ -*-===//
//
// A small writer of the format in s10rt/Format.h, independent of the
// compiler's: the tests describe a model (tensors, buffers, steps, kernels),
// serialize it with valid checksums, and corrupt the bytes or the
// description to check that the loader rejects every inconsistency.
//
//===----------------------------------------------------------------------===//

#ifndef S10RT_TESTS_ARTIFACTWRITER_H
#define S10RT_TESTS_ARTIFACTWRITER_H

#include "s10/Quant/Layout.h"
#include "s10rt/Format.h"

#include <cstdint>
#include <string>
#include <vector>

namespace s10rt::test {

struct TensorData {
  format::DType dtype = format::DType::F32;
  uint32_t rank = 1;
  int64_t dims[2] = {0, 0};
  std::vector<uint8_t> bytes;
  std::string name;
  s10::quant::layout::Spec spec; // Packed only
};

struct StepData {
  format::StepRecord record{};
  std::string name;
};

struct KernelData {
  format::KernelAbi abi = format::KernelAbi::Gemv;
  std::string symbol;
  uint32_t reserved[2] = {0, 0}; // GemmBlock: format::gemmBlockWords
};

/// Where the serialized sections ended up.
struct FileLayout {
  uint64_t offset[7] = {}; // by SectionKind
  uint64_t size[7] = {};
  /// Offset in the file of tensor i's record, step i's record.
  uint64_t tensorRecord(uint32_t i) const {
    return offset[3] + uint64_t(i) * sizeof(format::TensorRecord);
  }
  uint64_t stepRecord(uint32_t i, uint32_t buffers) const {
    return offset[5] + sizeof(format::PlanHeader) + uint64_t(buffers) * 8 +
           uint64_t(i) * sizeof(format::StepRecord);
  }
};

struct ArtifactData {
  format::ModelConfig config{};
  std::string name = "tiny";
  uint32_t target = uint32_t(format::Target::CpuX86_64);
  std::vector<TensorData> tensors;
  std::vector<std::pair<uint32_t, std::string>> buffers; // width, name
  std::vector<StepData> steps;
  uint32_t logitsBuffer = 0;
  uint32_t kvSlots = 0;
  uint32_t kvWidth = 0;
  std::vector<KernelData> kernels;
  std::vector<uint8_t> code;   // the kernels' code object
  bool kernelsSection = false; // write one even without kernels

  uint32_t addTensor(TensorData t);
  uint32_t addF32(const std::string &name, std::vector<int64_t> dims,
                  const std::vector<float> &values);
  uint32_t addF16(const std::string &name, std::vector<int64_t> dims,
                  const std::vector<uint16_t> &values);
  uint32_t addBuffer(uint32_t width, const std::string &name);
  uint32_t addStep(format::OpCode op, std::vector<uint32_t> in, uint32_t out,
                   std::vector<uint32_t> tensors, std::vector<int32_t> ints,
                   std::vector<float> floats, const std::string &name);
  uint32_t addKernel(format::KernelAbi abi, const std::string &symbol);

  std::vector<uint8_t> serialize(FileLayout *layout = nullptr) const;
};

/// Recomputes both checksums of a serialized artifact in place.
void refreshChecksums(std::vector<uint8_t> &file);
/// Recomputes the header checksum only.
void refreshHeaderChecksum(std::vector<uint8_t> &file);

template <typename T> void poke(std::vector<uint8_t> &file, uint64_t at, T v) {
  std::memcpy(file.data() + at, &v, sizeof(T));
}
template <typename T> T peek(const std::vector<uint8_t> &file, uint64_t at) {
  T v;
  std::memcpy(&v, file.data() + at, sizeof(T));
  return v;
}

void writeFile(const std::string &path, const std::vector<uint8_t> &bytes);
std::vector<uint8_t> readFile(const std::string &path);

} // namespace s10rt::test

#endif // S10RT_TESTS_ARTIFACTWRITER_H
