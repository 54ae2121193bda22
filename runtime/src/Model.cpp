//===- Model.cpp - Map and verify a .s10 artifact -------------------------===//
//
// Every check happens before the bytes it guards are used, in the order of
// Format.h: header, checksums, section table, then each section's records.
// Offsets and sizes come from the file, so every sum and product is done so
// that it cannot overflow.
//
//===----------------------------------------------------------------------===//

#include "Model.h"

#include "Error.h"
#include "s10rt/PackedSpec.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>

#include <dlfcn.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace s10rt;
using namespace s10rt::format;
namespace layout = s10::quant::layout;

//===----------------------------------------------------------------------===//
// Mapping and code object
//===----------------------------------------------------------------------===//

Mapping::~Mapping() {
  if (base_)
    ::munmap(const_cast<uint8_t *>(base_), size_);
}

void Mapping::reset(const uint8_t *base, uint64_t size) {
  if (base_)
    ::munmap(const_cast<uint8_t *>(base_), size_);
  base_ = base;
  size_ = size;
}

CodeObject::~CodeObject() {
  if (handle_)
    ::dlclose(handle_);
  if (fd_ >= 0)
    ::close(fd_);
}

namespace {

bool writeAll(int fd, const uint8_t *data, uint64_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size_t(std::min<uint64_t>(size, 1u << 30)));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    data += n;
    size -= uint64_t(n);
  }
  return true;
}

/// True if the dynamic loader already holds an object named `file`: it would
/// return that one instead of loading ours.
bool nameTaken(const std::string &file) {
  void *h = ::dlopen(file.c_str(), RTLD_NOW | RTLD_NOLOAD);
  if (!h)
    return false;
  ::dlclose(h);
  return true;
}

std::string dlMessage() {
  const char *m = ::dlerror();
  return m ? m : "unknown error";
}

} // namespace

void CodeObject::load(const std::string &path, const uint8_t *data,
                      uint64_t size) {
  auto fail = [&](s10_status_code_t code, const std::string &what) {
    return Error(code, path + ": " + what);
  };
  // An x86-64 little-endian ELF shared object: e_type ET_DYN, e_machine 62.
  if (size < 64 ||
      std::memcmp(data,
                  "\x7f"
                  "ELF",
                  4) != 0 ||
      data[4] != 2 || data[5] != 1 || data[16] != 3 || data[17] != 0 ||
      data[18] != 62 || data[19] != 0)
    throw fail(S10_DATA_LOSS,
               "the kernels' code object is not an x86-64 ELF shared library");
  std::string file;
  int fd = ::memfd_create("s10rt-kernels", MFD_CLOEXEC);
  if (fd >= 0) {
    file = "/proc/self/fd/" + std::to_string(fd);
    if (!writeAll(fd, data, size)) {
      int e = errno;
      ::close(fd);
      throw fail(S10_IO_ERROR, std::string("cannot write the kernels' code "
                                           "object to memory: ") +
                                   std::strerror(e));
    }
    if (::access(file.c_str(), R_OK) != 0 || nameTaken(file)) {
      ::close(fd);
      fd = -1;
    }
  }
  bool temporary = fd < 0;
  if (temporary) {
    // No memfd or no /proc: a private temporary file, unlinked once loaded.
    const char *dir = std::getenv("TMPDIR");
    std::string tmpl =
        std::string(dir && *dir ? dir : "/tmp") + "/s10rt-kernels-XXXXXX";
    std::vector<char> name(tmpl.begin(), tmpl.end());
    name.push_back('\0');
    for (int attempt = 0; attempt < 8 && fd < 0; ++attempt) {
      std::copy(tmpl.begin(), tmpl.end(), name.begin());
      fd = ::mkostemp(name.data(), O_CLOEXEC);
      if (fd >= 0 && nameTaken(name.data())) {
        ::unlink(name.data());
        ::close(fd);
        fd = -1;
      }
    }
    if (fd < 0)
      throw fail(S10_IO_ERROR,
                 std::string("cannot create a file for the kernels' code "
                             "object: ") +
                     std::strerror(errno));
    file = name.data();
    if (!writeAll(fd, data, size)) {
      int e = errno;
      ::unlink(file.c_str());
      ::close(fd);
      throw fail(S10_IO_ERROR, "cannot write the kernels' code object: " +
                                   std::string(std::strerror(e)));
    }
  }
  ::dlerror();
  void *handle = ::dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (temporary) {
    ::unlink(file.c_str());
    ::close(fd);
    fd = -1;
  }
  if (!handle) {
    std::string why = dlMessage();
    if (fd >= 0)
      ::close(fd);
    throw fail(S10_DATA_LOSS, "cannot load the kernels' code object: " + why);
  }
  handle_ = handle;
  fd_ = fd;
}

void *CodeObject::symbol(const char *name) const {
  return handle_ ? ::dlsym(handle_, name) : nullptr;
}

//===----------------------------------------------------------------------===//
// Loader
//===----------------------------------------------------------------------===//

namespace {

const char *sectionName(uint32_t kind) {
  switch (static_cast<SectionKind>(kind)) {
  case SectionKind::Config:
    return "config";
  case SectionKind::Strings:
    return "strings";
  case SectionKind::Tensors:
    return "tensors";
  case SectionKind::Weights:
    return "weights";
  case SectionKind::Plan:
    return "plan";
  case SectionKind::Kernels:
    return "kernels";
  }
  return nullptr;
}

const char *dtypeName(DType d) {
  switch (d) {
  case DType::F32:
    return "f32";
  case DType::F16:
    return "f16";
  case DType::Packed:
    return "packed";
  }
  return "?";
}

const char *abiName(uint32_t abi) {
  switch (static_cast<KernelAbi>(abi)) {
  case KernelAbi::Gemv:
    return "gemv";
  case KernelAbi::RMSNormRow:
    return "rms_norm_row";
  case KernelAbi::Binary:
    return "binary";
  case KernelAbi::Embedding:
    return "embedding";
  case KernelAbi::Rotary:
    return "rotary";
  case KernelAbi::Attend:
    return "attend";
  case KernelAbi::Decode:
    return "decode";
  case KernelAbi::GemmBlock:
    return "gemm_block";
  case KernelAbi::GpuGemv:
    return "gpu_gemv";
  case KernelAbi::GpuRMSNorm:
    return "gpu_rms_norm";
  case KernelAbi::GpuBinary:
    return "gpu_binary";
  case KernelAbi::GpuEmbedding:
    return "gpu_embedding";
  case KernelAbi::GpuRotary:
    return "gpu_rotary";
  case KernelAbi::GpuAttention:
    return "gpu_attention";
  case KernelAbi::GpuKvAppend:
    return "gpu_kv_append";
  case KernelAbi::GpuGemvAdd:
    return "gpu_gemv_add";
  case KernelAbi::GpuGemvSwiGLU:
    return "gpu_gemv_swiglu";
  case KernelAbi::GpuNormGemv:
    return "gpu_norm_gemv";
  case KernelAbi::GpuNormGemvSwiGLU:
    return "gpu_norm_gemv_swiglu";
  case KernelAbi::GpuRopeAppend:
    return "gpu_rope_append";
  case KernelAbi::GpuNormGemvQkv:
    return "gpu_norm_gemv_qkv";
  case KernelAbi::GpuGemm:
    return "gpu_gemm";
  }
  return "?";
}

/// The kernel ABI a plan op calls on a target; false if it has none.
bool abiFor(OpCode op, bool cuda, KernelAbi &abi) {
  switch (op) {
  case OpCode::Linear:
    abi = cuda ? KernelAbi::GpuGemv : KernelAbi::Gemv;
    return true;
  case OpCode::RMSNorm:
    abi = cuda ? KernelAbi::GpuRMSNorm : KernelAbi::RMSNormRow;
    return true;
  case OpCode::SwiGLU:
  case OpCode::Add:
    abi = cuda ? KernelAbi::GpuBinary : KernelAbi::Binary;
    return true;
  case OpCode::Embedding:
    abi = cuda ? KernelAbi::GpuEmbedding : KernelAbi::Embedding;
    return true;
  case OpCode::Rotary:
    abi = cuda ? KernelAbi::GpuRotary : KernelAbi::Rotary;
    return true;
  case OpCode::Attention:
    abi = cuda ? KernelAbi::GpuAttention : KernelAbi::Attend;
    return true;
  case OpCode::RopeAttention:
    abi = KernelAbi::GpuAttention;
    return cuda;
  case OpCode::LinearAdd:
    abi = KernelAbi::GpuGemvAdd;
    return cuda;
  case OpCode::LinearSwiGLU:
    abi = KernelAbi::GpuGemvSwiGLU;
    return cuda;
  case OpCode::NormLinear:
    abi = KernelAbi::GpuNormGemv;
    return cuda;
  case OpCode::NormLinearSwiGLU:
    abi = KernelAbi::GpuNormGemvSwiGLU;
    return cuda;
  case OpCode::NormLinearQKV:
    abi = KernelAbi::GpuNormGemvQkv;
    return cuda;
  }
  return false;
}

std::string targetName(uint32_t target) {
  switch (static_cast<Target>(target)) {
  case Target::CpuX86_64:
    return "cpu-x86_64";
  case Target::Cuda:
    return "cuda";
  }
  return "unknown target " + std::to_string(target);
}

std::string str(uint64_t v) { return std::to_string(v); }

std::string hex(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%llx", static_cast<unsigned long long>(v));
  return buf;
}

/// [offset, offset + size) lies inside [0, limit).
bool inside(uint64_t offset, uint64_t size, uint64_t limit) {
  return offset <= limit && size <= limit - offset;
}

template <typename T> T readRecord(const uint8_t *p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

/// Everything the checks need while they walk the file.
class Loader {
public:
  Loader(Model &m, bool verify, bool loadCode)
      : m(m), verify(verify), loadCode(loadCode) {}
  void run();

private:
  [[noreturn]] void fail(const std::string &what,
                         s10_status_code_t code = S10_DATA_LOSS) const {
    throw Error(code, m.path + ": " + what);
  }
  void mapFile();
  void checkHeader();
  void readSections();
  const char *string(uint32_t offset, const std::string &what,
                     bool optional) const;
  void readConfig();
  void readTensors();
  void readPlan();
  void readKernels();
  void checkStep(uint32_t index, const StepRecord &r);
  std::string stepLabel(uint32_t index, const StepRecord &r) const;
  uint32_t width(uint32_t buffer, const std::string &step,
                 const char *what) const;
  const Tensor &tensor(uint32_t index, const std::string &step,
                       const char *what) const;
  void floats(const Tensor &t, std::vector<float> &out) const;
  int matrix(uint32_t tensorIndex);
  void loadKernels();
  void checkGemmBlock(uint32_t index, const KernelRecord &k);

  static constexpr uint32_t kMaxGemmRows = 8, kMaxGemmVectors = 4,
                            kMaxGemmDepth = 1u << 16;

  Model &m;
  bool verify;
  bool loadCode;
  const uint8_t *base = nullptr;
  uint64_t size = 0;
  SectionRecord sections[7] = {};
  bool present[7] = {};
  std::vector<KernelRecord> kernels;
  std::vector<bool> slotUsed; // per KV cache slot: an attention step owns it
  std::vector<const char *> symbols;
  std::map<uint32_t, int> matrixOf; // tensor index -> Model::matrices
  // The GEMM kernel table: its shape and kernel index by table slot.
  GemmBlockShape gemmShape{};
  std::vector<uint32_t> gemmIndex;
  uint64_t gemmCount = 0;
};

void Loader::mapFile() {
  int fd = ::open(m.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    if (e == ENOENT)
      fail("no such file", S10_NOT_FOUND);
    fail(std::string("cannot open: ") + std::strerror(e), S10_IO_ERROR);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    fail(std::string("cannot stat: ") + std::strerror(e), S10_IO_ERROR);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    fail("not a regular file", S10_IO_ERROR);
  }
  size = uint64_t(st.st_size);
  if (size < sizeof(Header)) {
    ::close(fd);
    fail("the file is " + str(size) +
         " bytes, too small for the 64-byte header of an s10 artifact");
  }
  void *p = ::mmap(nullptr, size_t(size), PROT_READ, MAP_PRIVATE, fd, 0);
  int e = errno;
  ::close(fd);
  if (p == MAP_FAILED)
    fail(std::string("cannot map: ") + std::strerror(e), S10_IO_ERROR);
  base = static_cast<const uint8_t *>(p);
  m.mapping.reset(base, size);
  m.fileBytes = size;
}

void Loader::checkHeader() {
  Header h = readRecord<Header>(base);
  if (std::memcmp(h.magic, kMagic, sizeof(kMagic)) != 0)
    fail("not an s10 artifact (bad magic)");
  if (h.version != kVersion)
    fail("format version " + str(h.version) + ", this runtime reads " +
             str(kVersion),
         S10_UNIMPLEMENTED);
  if (h.headerSize != sizeof(Header))
    fail("header size " + str(h.headerSize) + ", expected " +
         str(sizeof(Header)));
  if (checksum(base, 48) != h.headerChecksum)
    fail("header checksum mismatch (the header is corrupted)");
  if (h.fileSize > size)
    fail("truncated: the header says " + str(h.fileSize) +
         " bytes, the file has " + str(size));
  if (h.fileSize < size)
    fail("trailing bytes: the header says " + str(h.fileSize) +
         " bytes, the file has " + str(size));
#if defined(__x86_64__)
  bool supported = h.target == uint32_t(Target::CpuX86_64);
#else
  bool supported = false;
#endif
  // CUDA artifacts carry no host code: any host can load them.
  m.cuda = h.target == uint32_t(Target::Cuda);
  if (!supported && !m.cuda)
    fail("compiled for " + targetName(h.target) +
             ", this runtime runs cpu-x86_64 and cuda artifacts",
         S10_UNIMPLEMENTED);
  if (verify && checksum(base + sizeof(Header), size - sizeof(Header)) !=
                    h.payloadChecksum)
    fail("payload checksum mismatch (the file is corrupted)");
  if (h.sectionTableOffset != sizeof(Header))
    fail("the section table is at offset " + str(h.sectionTableOffset) +
         ", expected " + str(sizeof(Header)));
  if (h.sectionCount == 0 ||
      h.sectionCount > (size - sizeof(Header)) / sizeof(SectionRecord))
    fail("a section table of " + str(h.sectionCount) +
         " entries does not fit the file");
}

void Loader::readSections() {
  Header h = readRecord<Header>(base);
  uint64_t tableEnd =
      sizeof(Header) + uint64_t(h.sectionCount) * sizeof(SectionRecord);
  std::vector<SectionRecord> all;
  for (uint32_t i = 0; i < h.sectionCount; ++i) {
    SectionRecord s = readRecord<SectionRecord>(
        base + sizeof(Header) + uint64_t(i) * sizeof(SectionRecord));
    const char *name = sectionName(s.kind);
    if (!name)
      fail("section " + str(i) + " has unknown kind " + str(s.kind));
    uint64_t align = s.kind == uint32_t(SectionKind::Weights) ? kWeightsAlign
                                                              : kSectionAlign;
    std::string what = std::string("the ") + name + " section";
    if (s.offset % align)
      fail(what + " at offset " + str(s.offset) + " is not " + str(align) +
           "-byte aligned");
    if (s.offset < tableEnd || !inside(s.offset, s.size, size))
      fail(what + " (offset " + str(s.offset) + ", " + str(s.size) +
           " bytes) lies outside the file's " + str(size) +
           " bytes after the section table");
    if (present[s.kind])
      fail("two " + std::string(name) + " sections");
    present[s.kind] = true;
    sections[s.kind] = s;
    all.push_back(s);
  }
  std::sort(all.begin(), all.end(),
            [](const SectionRecord &a, const SectionRecord &b) {
              return a.offset < b.offset;
            });
  for (size_t i = 1; i < all.size(); ++i)
    if (all[i - 1].offset + all[i - 1].size > all[i].offset)
      fail(std::string("the ") + sectionName(all[i - 1].kind) + " and " +
           sectionName(all[i].kind) + " sections overlap");
  for (SectionKind k :
       {SectionKind::Config, SectionKind::Strings, SectionKind::Tensors,
        SectionKind::Weights, SectionKind::Plan})
    if (!present[uint32_t(k)])
      fail(std::string("no ") + sectionName(uint32_t(k)) + " section");
}

const char *Loader::string(uint32_t offset, const std::string &what,
                           bool optional) const {
  if (optional && offset == kNone)
    return "";
  const SectionRecord &s = sections[uint32_t(SectionKind::Strings)];
  const char *p = reinterpret_cast<const char *>(base + s.offset);
  if (offset >= s.size)
    fail(what + " has string offset " + str(offset) +
         ", outside the strings section of " + str(s.size) + " bytes");
  if (!std::memchr(p + offset, 0, s.size - offset))
    fail(what + " at string offset " + str(offset) +
         " is not NUL-terminated inside the strings section");
  return p + offset;
}

void Loader::readConfig() {
  const SectionRecord &s = sections[uint32_t(SectionKind::Config)];
  if (s.size != sizeof(ModelConfig))
    fail("the config section is " + str(s.size) + " bytes, expected " +
         str(sizeof(ModelConfig)));
  ModelConfig &c = m.config;
  c = readRecord<ModelConfig>(base + s.offset);
  std::pair<uint32_t, const char *> sizes[] = {
      {c.vocab, "vocab"},
      {c.hidden, "hidden"},
      {c.layers, "layers"},
      {c.heads, "heads"},
      {c.kvHeads, "kv_heads"},
      {c.headDim, "head_dim"},
      {c.intermediate, "intermediate"},
      {c.maxPositions, "max_positions"}};
  for (auto [v, name] : sizes)
    if (v == 0 || v == kNone)
      fail(std::string("the config's ") + name + " is " + str(v) +
           ", not a valid size");
  if (c.heads % c.kvHeads)
    fail("the config's heads (" + str(c.heads) +
         ") is not a multiple of its kv_heads (" + str(c.kvHeads) + ")");
  if (c.bosId != kNone && c.bosId >= c.vocab)
    fail("the config's bos id " + str(c.bosId) + " is outside the vocab of " +
         str(c.vocab));
  if (c.eosId != kNone && c.eosId >= c.vocab)
    fail("the config's eos id " + str(c.eosId) + " is outside the vocab of " +
         str(c.vocab));
  m.name = string(c.nameOffset, "the model name", true);
  const SectionRecord &w = sections[uint32_t(SectionKind::Weights)];
  if (c.weightBytes > w.size)
    fail("the config says " + str(c.weightBytes) +
         " weight bytes, the weights section has " + str(w.size));
}

void Loader::readTensors() {
  const SectionRecord &s = sections[uint32_t(SectionKind::Tensors)];
  const SectionRecord &w = sections[uint32_t(SectionKind::Weights)];
  if (s.size % sizeof(TensorRecord))
    fail("the tensors section is " + str(s.size) +
         " bytes, not a whole number of " + str(sizeof(TensorRecord)) +
         "-byte records");
  uint64_t count = s.size / sizeof(TensorRecord);
  if (count >= kNone)
    fail("too many tensors: " + str(count));
  m.tensors.resize(size_t(count));
  for (uint64_t i = 0; i < count; ++i) {
    TensorRecord r =
        readRecord<TensorRecord>(base + s.offset + i * sizeof(TensorRecord));
    Tensor &t = m.tensors[size_t(i)];
    std::string label = "tensor " + str(i);
    t.name = string(r.nameOffset, label, true);
    if (*t.name)
      label += " (" + std::string(t.name) + ")";
    if (r.dtype < 1 || r.dtype > 3)
      fail(label + " has unknown dtype " + str(r.dtype));
    t.dtype = static_cast<DType>(r.dtype);
    if (r.rank != 1 && r.rank != 2)
      fail(label + " has rank " + str(r.rank) + ", expected 1 or 2");
    t.rank = r.rank;
    // Rank 1 keeps its second dimension 0 (or 1).
    if (r.rank == 1 && r.dims[1] != 0 && r.dims[1] != 1)
      fail(label + " has rank 1 but a second dimension " +
           std::to_string(r.dims[1]));
    t.numel = 1;
    for (uint32_t d = 0; d < r.rank; ++d) {
      if (r.dims[d] <= 0)
        fail(label + " has dimension " + std::to_string(r.dims[d]));
      t.dims[d] = r.dims[d];
      if (__builtin_mul_overflow(t.numel, r.dims[d], &t.numel))
        fail(label + " has too many elements");
    }
    if (r.rank == 1)
      t.dims[1] = 1;
    if (r.offset % 64)
      fail(label + " at weights offset " + str(r.offset) +
           " is not 64-byte aligned");
    if (!inside(r.offset, r.size, w.size))
      fail(label + " (offset " + str(r.offset) + ", " + str(r.size) +
           " bytes) lies outside the weights section of " + str(w.size) +
           " bytes");
    t.data = base + w.offset + r.offset;
    t.size = r.size;
    std::string shape = str(uint64_t(t.dims[0]));
    if (r.rank == 2)
      shape += "x" + str(uint64_t(t.dims[1]));
    if (t.dtype != DType::Packed) {
      uint64_t elem = t.dtype == DType::F32 ? 4 : 2, bytes = 0;
      if (__builtin_mul_overflow(uint64_t(t.numel), elem, &bytes) ||
          bytes != r.size)
        fail(label + " is " + dtypeName(t.dtype) + " [" + shape + "] but has " +
             str(r.size) + " bytes");
      continue;
    }
    if (r.rank != 2)
      fail(label + " is packed but has rank 1");
    t.spec = packedSpec(r);
    const layout::Spec &sp = t.spec;
    int64_t out = t.dims[0], in = t.dims[1];
    // Every layout stores at least one bit per weight: bounding the shape
    // by the bytes first keeps the layout's size arithmetic far from
    // overflow.
    if (out > (int64_t(1) << 31) || in > (int64_t(1) << 31) ||
        (uint64_t(out) * uint64_t(in) + 7) / 8 > r.size)
      fail(label + ": " + str(r.size) + " bytes cannot hold a packed [" +
           shape + "] matrix");
    layout::Geometry g;
    if (layout::Status st = layout::describe(sp, out, in, g); st.failed())
      fail(label + ": " + st.message());
    if (g.totalBytes != r.size)
      fail(label + " holds " + str(r.size) + " bytes, its " +
           layout::kindName(sp.kind) + " layout [" + shape + "] needs " +
           str(g.totalBytes));
    if (layout::Status st = layout::validate(sp, out, in, t.data, r.size);
        st.failed())
      fail(label + ": " + st.message());
  }
}

void Loader::readKernels() {
  if (!present[uint32_t(SectionKind::Kernels)])
    return;
  const SectionRecord &s = sections[uint32_t(SectionKind::Kernels)];
  if (s.size < sizeof(KernelsHeader))
    fail("the kernels section is " + str(s.size) +
         " bytes, smaller than its header");
  KernelsHeader h = readRecord<KernelsHeader>(base + s.offset);
  uint64_t tableEnd =
      sizeof(KernelsHeader) + uint64_t(h.count) * sizeof(KernelRecord);
  if (tableEnd > s.size)
    fail("the kernels section's " + str(h.count) + " records do not fit its " +
         str(s.size) + " bytes");
  if (h.codeOffset < tableEnd || !inside(h.codeOffset, h.codeSize, s.size))
    fail("the kernels' code object (offset " + str(h.codeOffset) + ", " +
         str(h.codeSize) + " bytes) lies outside the kernels section");
  if (h.count == 0 && h.codeSize != 0)
    fail("the kernels section has no kernels but a code object");
  if (h.count > 0 && h.codeSize == 0)
    fail("the kernels section has " + str(h.count) +
         " kernels but no code object");
  for (uint32_t i = 0; i < h.count; ++i) {
    KernelRecord k = readRecord<KernelRecord>(
        base + s.offset + sizeof(KernelsHeader) + uint64_t(i) * 16);
    std::string label = "kernel " + str(i);
    bool known = m.cuda ? k.abi >= uint32_t(KernelAbi::GpuGemv) &&
                              k.abi <= uint32_t(KernelAbi::GpuGemm)
                        : k.abi >= 1 && k.abi <= 8;
    if (!known)
      fail(label + " has ABI " + str(k.abi) + ", unknown for a " +
           (m.cuda ? "cuda" : "cpu-x86_64") + " artifact");
    const char *sym = string(k.symbolOffset, label + "'s symbol", false);
    if (!*sym)
      fail(label + " has an empty symbol name");
    if (k.abi == uint32_t(KernelAbi::GemmBlock))
      checkGemmBlock(i, k);
    else if (k.reserved[0] || k.reserved[1])
      fail(label + " has non-zero reserved words");
    kernels.push_back(k);
    symbols.push_back(sym);
  }
  if (gemmCount && gemmCount != uint64_t(gemmShape.maxMr) * gemmShape.maxNv * 2)
    fail("the GEMM kernel table has " + str(gemmCount) + " kernels, " +
         str(gemmShape.maxMr) + " x " + str(gemmShape.maxNv) + " x 2 expected");
}

void Loader::checkGemmBlock(uint32_t index, const KernelRecord &k) {
  std::string label = "kernel " + str(index) + " (gemm block)";
  GemmBlockShape g = gemmBlockShape(k.reserved);
  uint32_t words[2];
  gemmBlockWords(g, words);
  if (words[0] != k.reserved[0] || words[1] != k.reserved[1] || g.masked > 1)
    fail(label + " has malformed shape words");
  // Bounds the table and its allocation; s10-compile writes 6 x 4 and 6 x 2.
  if (g.maxMr < 1 || g.maxMr > kMaxGemmRows || g.maxNv < 1 ||
      g.maxNv > kMaxGemmVectors || (g.vec != 4 && g.vec != 8 && g.vec != 16) ||
      g.kc < 1 || g.kc > kMaxGemmDepth)
    fail(label + ": table of " + str(g.maxMr) + " rows, " + str(g.maxNv) +
         " vectors of " + str(g.vec) + ", k blocks of " + str(g.kc) +
         " is out of range");
  if (g.mr < 1 || g.mr > g.maxMr || g.nv < 1 || g.nv > g.maxNv)
    fail(label + ": block " + str(g.mr) + " x " + str(g.nv) +
         " lies outside its table of " + str(g.maxMr) + " x " + str(g.maxNv));
  if (gemmCount == 0) {
    gemmShape = g;
    gemmIndex.assign(size_t(g.maxMr) * g.maxNv * 2, kNone);
  } else if (g.maxMr != gemmShape.maxMr || g.maxNv != gemmShape.maxNv ||
             g.vec != gemmShape.vec || g.kc != gemmShape.kc) {
    fail(label + " belongs to a different table than the first GEMM kernel");
  }
  uint32_t &slot =
      gemmIndex[((g.mr - 1) * g.maxNv + (g.nv - 1)) * 2 + g.masked];
  if (slot != kNone)
    fail(label + " repeats kernel " + str(slot) + "'s block");
  slot = index;
  ++gemmCount;
}

std::string Loader::stepLabel(uint32_t index, const StepRecord &r) const {
  std::string label = "step " + str(index);
  const char *op = opName(r.op);
  const char *name = string(r.nameOffset, label + "'s name", true);
  if (op || *name) {
    label += " (";
    if (op)
      label += op;
    if (op && *name)
      label += " ";
    label += name;
    label += ")";
  }
  return label;
}

uint32_t Loader::width(uint32_t buffer, const std::string &step,
                       const char *what) const {
  if (buffer >= m.bufferWidths.size())
    fail(step + ": " + what + " is buffer " + str(buffer) + ", the plan has " +
         str(m.bufferWidths.size()));
  return m.bufferWidths[buffer];
}

const Tensor &Loader::tensor(uint32_t index, const std::string &step,
                             const char *what) const {
  if (index >= m.tensors.size())
    fail(step + ": " + what + " is tensor " + str(index) +
         ", the artifact has " + str(m.tensors.size()));
  return m.tensors[index];
}

void Loader::floats(const Tensor &t, std::vector<float> &out) const {
  out.resize(size_t(t.numel));
  if (t.dtype == DType::F32) {
    std::memcpy(out.data(), t.data, size_t(t.size));
    return;
  }
  for (int64_t k = 0; k < t.numel; ++k) {
    uint16_t h;
    std::memcpy(&h, t.data + 2 * k, 2);
    out[size_t(k)] = layout::halfToFloat(h);
  }
}

int Loader::matrix(uint32_t tensorIndex) {
  auto it = matrixOf.find(tensorIndex);
  if (it != matrixOf.end())
    return it->second;
  const Tensor &t = m.tensors[tensorIndex];
  Matrix mat;
  mat.dtype = t.dtype;
  mat.out = t.dims[0];
  mat.in = t.dims[1];
  mat.data = t.data;
  mat.size = t.size;
  if (t.dtype == DType::Packed)
    if (layout::Status st = layout::PackedMatrix::create(
            t.spec, mat.out, mat.in, t.data, size_t(t.size),
            /*validateContent=*/false, mat.packed);
        st.failed())
      fail("tensor " + str(tensorIndex) + ": " + st.message());
  m.matrices.push_back(std::move(mat));
  int index = int(m.matrices.size() - 1);
  matrixOf[tensorIndex] = index;
  return index;
}

void Loader::checkStep(uint32_t index, const StepRecord &r) {
  std::string label = stepLabel(index, r);
  if (!opName(r.op))
    fail(label + " has unknown op " + str(r.op));
  Step s;
  s.op = static_cast<OpCode>(r.op);
  std::copy(r.in, r.in + 3, s.in);
  s.out = r.out;
  std::copy(r.i, r.i + 4, s.i);
  std::copy(r.f, r.f + 2, s.f);
  uint32_t outW = width(r.out, label, "the output");
  auto sameWidth = [&](uint32_t buffer, const char *what) {
    uint32_t w = width(buffer, label, what);
    if (w != outW)
      fail(label + ": " + what + " has width " + str(w) + ", the output has " +
           str(outW));
  };
  auto isVectorType = [](const Tensor &t) {
    return t.dtype == DType::F32 || t.dtype == DType::F16;
  };
  // Tensor `index` as an RMSNorm weight of `width` elements (`what` in
  // messages) with a finite epsilon f0 >= 0.
  auto normWeight = [&](uint32_t index, uint32_t width,
                        const char *what) -> const Tensor & {
    const Tensor &t = tensor(index, label, what);
    if (!isVectorType(t) || t.numel != width)
      fail(label + ": " + what + " must be f32 or f16 of " + str(width) +
           " elements");
    if (!std::isfinite(r.f[0]) || r.f[0] < 0)
      fail(label + ": epsilon " + std::to_string(r.f[0]) +
           " is not a finite non-negative number");
    return t;
  };
  // Tensor 0 as the f32 inverse frequencies of a rotation of `dim`: their
  // index among the model's distinct ones.
  auto rotaryOf = [&](int64_t dim) {
    const Tensor &t = tensor(r.tensor[0], label, "the inverse frequencies");
    if (t.dtype != DType::F32 || t.numel != dim / 2)
      fail(label + ": the inverse frequencies must be f32 of " +
           str(uint64_t(dim / 2)) + " elements");
    std::vector<float> freq;
    floats(t, freq);
    auto it = std::find(m.rotaryFreqs.begin(), m.rotaryFreqs.end(), freq);
    int index = int(it - m.rotaryFreqs.begin());
    if (it == m.rotaryFreqs.end())
      m.rotaryFreqs.push_back(std::move(freq));
    return index;
  };
  switch (s.op) {
  case OpCode::Embedding: {
    const Tensor &t = tensor(r.tensor[0], label, "the table");
    if (!isVectorType(t) || t.rank != 2 || t.dims[0] != m.config.vocab ||
        t.dims[1] != outW)
      fail(label + ": the table must be f32 or f16 [" + str(m.config.vocab) +
           "x" + str(outW) + "]");
    s.matrix = matrix(r.tensor[0]);
    s.tensor0 = r.tensor[0];
    break;
  }
  case OpCode::RMSNorm: {
    sameWidth(r.in[0], "the input");
    const Tensor &t = normWeight(r.tensor[0], outW, "the weight");
    floats(t, s.vector);
    s.weightBytes = t.data;
    s.tensor0 = r.tensor[0];
    break;
  }
  case OpCode::Linear: {
    uint32_t inW = width(r.in[0], label, "the input");
    const Tensor &t = tensor(r.tensor[0], label, "the weight");
    if (t.rank != 2 || t.dims[0] != outW || t.dims[1] != inW)
      fail(label + ": the weight must be [" + str(outW) + "x" + str(inW) +
           "] for buffers of widths " + str(inW) + " -> " + str(outW));
    s.matrix = matrix(r.tensor[0]);
    s.weightBytes = t.data;
    s.tensor0 = r.tensor[0];
    if (r.tensor[1] != kNone && m.cuda)
      fail(label + ": the cuda kernels add no bias");
    if (r.tensor[1] != kNone) {
      const Tensor &b = tensor(r.tensor[1], label, "the bias");
      if (!isVectorType(b) || b.numel != outW)
        fail(label + ": the bias must be f32 or f16 of " + str(outW) +
             " elements");
      floats(b, s.vector);
    }
    break;
  }
  case OpCode::Rotary: {
    sameWidth(r.in[0], "the input");
    int64_t heads = r.i[0], dim = r.i[1];
    if (heads <= 0 || dim <= 0 || dim % 2 || heads * dim != outW)
      fail(label + ": " + std::to_string(heads) + " heads of " +
           std::to_string(dim) + " do not fit a buffer of width " + str(outW) +
           " (head dim must be even)");
    s.rotary = rotaryOf(dim);
    break;
  }
  case OpCode::Attention:
  case OpCode::RopeAttention: {
    int64_t heads = r.i[0], kvHeads = r.i[1], dim = r.i[2], slot = r.i[3];
    if (heads <= 0 || kvHeads <= 0 || dim <= 0 || heads % kvHeads)
      fail(label + ": " + std::to_string(heads) + " heads over " +
           std::to_string(kvHeads) + " kv heads of " + std::to_string(dim) +
           " is not a valid grouped attention");
    if (heads * dim != outW)
      fail(label + ": " + std::to_string(heads) + " heads of " +
           std::to_string(dim) + " do not fit the output width " + str(outW));
    uint32_t qW = width(r.in[0], label, "the query");
    uint32_t kW = width(r.in[1], label, "the key");
    uint32_t vW = width(r.in[2], label, "the value");
    if (qW != outW || kW != kvHeads * dim || vW != kvHeads * dim)
      fail(label + ": query, key, value widths " + str(qW) + ", " + str(kW) +
           ", " + str(vW) + " do not match " + std::to_string(heads) + " and " +
           std::to_string(kvHeads) + " heads of " + std::to_string(dim));
    if (slot < 0 || uint64_t(slot) >= m.plan.kvSlots)
      fail(label + ": KV cache slot " + std::to_string(slot) +
           ", the plan has " + str(m.plan.kvSlots));
    if (slotUsed[size_t(slot)])
      fail(label + ": KV cache slot " + std::to_string(slot) +
           " is used by an earlier attention step");
    slotUsed[size_t(slot)] = true;
    if (uint64_t(kvHeads * dim) != m.plan.kvWidth)
      fail(label + ": " + std::to_string(kvHeads) + " kv heads of " +
           std::to_string(dim) + " do not match the plan's KV width " +
           str(m.plan.kvWidth));
    if (!std::isfinite(r.f[0]))
      fail(label + ": the scale is not finite");
    if (s.op == OpCode::RopeAttention) {
      // The KV append rotates q in place: q must be a buffer of its own.
      if (!m.cuda)
        fail(label + ": fused steps run only in cuda artifacts");
      if (r.in[0] == r.in[1] || r.in[0] == r.in[2])
        fail(label + ": the query shares a buffer with the key or value");
      if (dim % 2)
        fail(label + ": head dim " + std::to_string(dim) + " is odd");
      s.rotary = rotaryOf(dim);
    }
    break;
  }
  case OpCode::SwiGLU:
  case OpCode::Add:
    sameWidth(r.in[0], "the first input");
    sameWidth(r.in[1], "the second input");
    break;
  case OpCode::LinearAdd:
  case OpCode::LinearSwiGLU:
  case OpCode::NormLinear:
  case OpCode::NormLinearSwiGLU: {
    if (!m.cuda)
      fail(label + ": fused steps run only in cuda artifacts");
    uint32_t inW = width(r.in[0], label, "the input");
    if (r.in[0] == r.out)
      fail(label + ": the output is the input, which every row reads");
    bool add = s.op == OpCode::LinearAdd;
    bool swiglu =
        s.op == OpCode::LinearSwiGLU || s.op == OpCode::NormLinearSwiGLU;
    if (add)
      sameWidth(r.in[1], "the residual");
    if (s.op == OpCode::NormLinear || s.op == OpCode::NormLinearSwiGLU) {
      uint32_t g = s.op == OpCode::NormLinear ? r.tensor[1] : uint32_t(r.i[0]);
      normWeight(g, inW, "the norm weight");
      s.normTensor = g;
    }
    for (int k = 0; k < (swiglu ? 2 : 1); ++k) {
      const Tensor &t = tensor(r.tensor[k], label, "a weight");
      if (t.rank != 2 || t.dims[0] != outW || t.dims[1] != inW)
        fail(label + ": the weights must be [" + str(outW) + "x" + str(inW) +
             "] for buffers of widths " + str(inW) + " -> " + str(outW));
    }
    if (add && r.tensor[1] != kNone)
      fail(label + ": the cuda kernels add no bias");
    s.matrix = matrix(r.tensor[0]);
    s.weightBytes = m.tensors[r.tensor[0]].data;
    s.tensor0 = r.tensor[0];
    if (swiglu)
      s.tensor1 = r.tensor[1];
    break;
  }
  case OpCode::NormLinearQKV: {
    if (!m.cuda)
      fail(label + ": fused steps run only in cuda artifacts");
    uint32_t inW = width(r.in[0], label, "the input");
    uint32_t kb = uint32_t(r.i[2]), vb = uint32_t(r.i[3]);
    uint32_t kW = width(kb, label, "the key output");
    uint32_t vW = width(vb, label, "the value output");
    // Every row reads all of x, and the three outputs are written at once.
    if (r.in[0] == r.out || r.in[0] == kb || r.in[0] == vb)
      fail(label + ": an output is the input, which every row reads");
    if (r.out == kb || r.out == vb || kb == vb)
      fail(label + ": the q, k and v outputs share a buffer");
    normWeight(uint32_t(r.i[0]), inW, "the norm weight");
    uint32_t w[3] = {r.tensor[0], r.tensor[1], uint32_t(r.i[1])};
    uint32_t outs[3] = {outW, kW, vW};
    const char *names[3] = {"the q weight", "the k weight", "the v weight"};
    for (int k = 0; k < 3; ++k) {
      const Tensor &t = tensor(w[k], label, names[k]);
      if (t.rank != 2 || t.dims[0] != outs[k] || t.dims[1] != inW)
        fail(label + ": " + names[k] + " must be [" + str(outs[k]) + "x" +
             str(inW) + "] for buffers of widths " + str(inW) + " -> " +
             str(outs[k]));
    }
    s.normTensor = uint32_t(r.i[0]);
    s.matrix = matrix(r.tensor[0]);
    s.weightBytes = m.tensors[r.tensor[0]].data;
    s.tensor0 = r.tensor[0];
    s.tensor1 = r.tensor[1];
    s.tensor2 = uint32_t(r.i[1]);
    s.out2 = kb;
    s.out3 = vb;
    break;
  }
  }
  if (r.kernel != kNone) {
    if (r.kernel >= kernels.size())
      fail(label + " calls kernel " + str(r.kernel) + ", the artifact has " +
           str(kernels.size()));
    KernelAbi want;
    if (!abiFor(s.op, m.cuda, want))
      fail(label + " cannot call a generated kernel");
    if (kernels[r.kernel].abi != uint32_t(want))
      fail(label + " calls kernel " + str(r.kernel) + " (" + symbols[r.kernel] +
           ") of ABI " + abiName(kernels[r.kernel].abi) + ", the op needs " +
           abiName(uint32_t(want)));
    s.kernel = r.kernel;
    ++m.compiledSteps;
    if (m.cuda &&
        (s.op == OpCode::Attention || s.op == OpCode::RopeAttention)) {
      KernelAbi append = s.op == OpCode::Attention ? KernelAbi::GpuKvAppend
                                                   : KernelAbi::GpuRopeAppend;
      if (r.reserved >= kernels.size() ||
          kernels[r.reserved].abi != uint32_t(append))
        fail(label + " names " + str(r.reserved) +
             " as its KV append kernel, which is not one");
      s.appendKernel = r.reserved;
    }
    if (m.cuda && isGemvOp(s.op) && r.reserved != kNone) {
      if (r.reserved >= kernels.size() ||
          kernels[r.reserved].abi != uint32_t(KernelAbi::GpuGemm))
        fail(label + " names " + str(r.reserved) +
             " as its prefill GEMM, which is not one");
      s.gemmKernel = r.reserved;
    }
  } else if (m.cuda) {
    fail(label + " has no kernel: a cuda artifact runs every step as one");
  }
  if (!m.cuda && s.op == OpCode::Linear && r.reserved != kNone) {
    if (r.reserved >= kernels.size() ||
        kernels[r.reserved].abi != uint32_t(KernelAbi::Decode))
      fail(label + " names " + str(r.reserved) +
           " as its decode kernel, which is not one");
    if (m.tensors[r.tensor[0]].dtype != DType::Packed)
      fail(label + " names a decode kernel for a weight that is not packed");
    s.decodeKernel = r.reserved;
  }
  m.steps.push_back(std::move(s));
}

void Loader::readPlan() {
  const SectionRecord &s = sections[uint32_t(SectionKind::Plan)];
  if (s.size < sizeof(PlanHeader))
    fail("the plan section is " + str(s.size) +
         " bytes, smaller than its header");
  PlanHeader &h = m.plan;
  h = readRecord<PlanHeader>(base + s.offset);
  uint64_t need = sizeof(PlanHeader) +
                  uint64_t(h.bufferCount) * sizeof(BufferRecord) +
                  uint64_t(h.stepCount) * sizeof(StepRecord);
  if (need != s.size)
    fail("the plan section is " + str(s.size) + " bytes, its " +
         str(h.bufferCount) + " buffers and " + str(h.stepCount) +
         " steps need " + str(need));
  if (h.bufferCount == 0 || h.stepCount == 0)
    fail("the plan has no buffers or no steps");
  const uint8_t *p = base + s.offset + sizeof(PlanHeader);
  for (uint32_t b = 0; b < h.bufferCount; ++b) {
    BufferRecord r = readRecord<BufferRecord>(p + uint64_t(b) * 8);
    string(r.nameOffset, "buffer " + str(b) + "'s name", true);
    if (r.width == 0)
      fail("buffer " + str(b) + " has width 0");
    m.bufferWidths.push_back(r.width);
    m.maxWidth = std::max(m.maxWidth, r.width);
  }
  if (h.logitsBuffer >= h.bufferCount)
    fail("the logits buffer is " + str(h.logitsBuffer) + ", the plan has " +
         str(h.bufferCount) + " buffers");
  if (m.bufferWidths[h.logitsBuffer] != m.config.vocab)
    fail("the logits buffer has width " + str(m.bufferWidths[h.logitsBuffer]) +
         ", the vocab is " + str(m.config.vocab));
  if (h.kvSlots > 0 && h.kvWidth == 0)
    fail("the plan has KV cache slots of width 0");
  // Every KV slot belongs to one attention step: the session allocates
  // them all, so unowned slots would only claim memory.
  if (h.kvSlots > h.stepCount)
    fail("the plan has " + str(h.kvSlots) + " KV cache slots but only " +
         str(h.stepCount) + " steps");
  slotUsed.assign(h.kvSlots, false);
  p += uint64_t(h.bufferCount) * sizeof(BufferRecord);
  for (uint32_t i = 0; i < h.stepCount; ++i)
    checkStep(i, readRecord<StepRecord>(p + uint64_t(i) * sizeof(StepRecord)));
  for (uint32_t k = 0; k < h.kvSlots; ++k)
    if (!slotUsed[k])
      fail("KV cache slot " + str(k) + " is used by no attention step");
}

void Loader::loadKernels() {
  if (m.cuda) {
    // The device loads the cubin; here it is only located and named.
    if (kernels.empty())
      fail("a cuda artifact needs a kernels section");
    const SectionRecord &s = sections[uint32_t(SectionKind::Kernels)];
    KernelsHeader h = readRecord<KernelsHeader>(base + s.offset);
    m.cudaCode = base + s.offset + h.codeOffset;
    m.cudaCodeSize = h.codeSize;
    m.cudaChip = h.reserved;
    m.kernelNames.assign(symbols.begin(), symbols.end());
    return;
  }
  if (kernels.empty())
    return;
  if (!loadCode) {
    // Every step has a built-in kernel too.
    for (Step &step : m.steps) {
      step.kernel = kNone;
      step.decodeKernel = kNone;
    }
    return;
  }
  const SectionRecord &s = sections[uint32_t(SectionKind::Kernels)];
  KernelsHeader h = readRecord<KernelsHeader>(base + s.offset);
  // Machine code for features the CPU lacks would die of SIGILL.
  if (uint64_t unknown =
          h.cpuFeatures & ~((uint64_t(1) << kCpuFeatureCount) - 1))
    fail("the kernels need CPU features unknown to this runtime (bits 0x" +
             hex(unknown) + ")",
         S10_UNIMPLEMENTED);
  if (uint64_t missing = h.cpuFeatures & ~hostCpuFeatures())
    fail("the kernels were compiled for CPU features this machine lacks (" +
             cpuFeatureNames(missing) +
             "); compile the model for this CPU with s10-compile "
             "--cpu=native, or --cpu=x86-64-v3 for any AVX2 machine",
         S10_UNIMPLEMENTED);
  m.code.load(m.path, base + s.offset + h.codeOffset, h.codeSize);
  std::vector<void *> fns;
  for (size_t k = 0; k < kernels.size(); ++k) {
    void *fn = m.code.symbol(symbols[k]);
    if (!fn)
      fail("kernel " + str(k) + " (" + symbols[k] +
           ") is missing from the code object");
    fns.push_back(fn);
  }
  for (Step &step : m.steps) {
    if (step.kernel != kNone)
      step.fn = fns[step.kernel];
    if (step.decodeKernel != kNone)
      step.decodeFn = reinterpret_cast<DecodeFn>(fns[step.decodeKernel]);
  }
  if (gemmCount) {
    for (uint32_t k : gemmIndex)
      m.gemmTable.push_back(reinterpret_cast<gemm::Kernel>(fns[k]));
    m.gemmSet = {"generated",           int(gemmShape.maxMr),
                 int(gemmShape.vec),    int(gemmShape.maxNv),
                 int64_t(gemmShape.kc), m.gemmTable.data()};
  }
}

void Loader::run() {
  mapFile();
  checkHeader();
  readSections();
  readConfig();
  readTensors();
  readKernels();
  readPlan();
  loadKernels();
}

} // namespace

uint64_t s10rt::hostCpuFeatures() {
  uint64_t bits = 0;
#if defined(__x86_64__) || defined(__i386__)
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d))
    return 0;
  // The OS saves the AVX registers (XCR0 bits 1, 2) and the AVX-512 ones
  // (bits 5, 6, 7) only if it says so.
  uint64_t xcr0 = 0;
  if (c & (1u << 27)) {
    uint32_t lo, hi;
    __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    xcr0 = (uint64_t(hi) << 32) | lo;
  }
  bool avxState = (xcr0 & 0x6) == 0x6, zmmState = (xcr0 & 0xe6) == 0xe6;
  unsigned maxLeaf = __get_cpuid_max(0, nullptr);
  unsigned maxExt = __get_cpuid_max(0x80000000u, nullptr);
  for (unsigned i = 0; i < kCpuFeatureCount; ++i) {
    const CpuFeatureInfo &f = kCpuFeatures[i];
    if (f.leaf >= 0x80000000u ? f.leaf > maxExt : f.leaf > maxLeaf)
      continue;
    unsigned r[4];
    __cpuid_count(f.leaf, f.subleaf, r[0], r[1], r[2], r[3]);
    if (!(r[f.reg] >> f.bit & 1))
      continue;
    std::string name = f.name;
    bool avx512 = name.rfind("avx512", 0) == 0;
    bool avx = avx512 || name.rfind("avx", 0) == 0 || name == "fma" ||
               name == "f16c" || name == "vaes" || name == "vpclmulqdq";
    if ((avx && !avxState) || (avx512 && !zmmState))
      continue;
    bits |= uint64_t(1) << i;
  }
#endif
  return bits;
}

std::string s10rt::cpuFeatureNames(uint64_t bits) {
  std::string s;
  for (unsigned i = 0; i < kCpuFeatureCount; ++i)
    if (bits >> i & 1)
      s += std::string(s.empty() ? "" : ", ") + kCpuFeatures[i].name;
  return s;
}

std::shared_ptr<Model> Model::open(const char *path, bool verifyChecksum,
                                   bool loadCode) {
  auto model = std::make_shared<Model>();
  model->path = path;
  Loader(*model, verifyChecksum, loadCode).run();
  return model;
}
