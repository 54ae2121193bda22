//===- CudaCases.cpp - CUDA kernels and their cases for a GPU machine -----===//
//
// Writes what scripts/gpu-check.sh runs on a machine with an NVIDIA GPU
// (which has no MLIR): the CUDA kernels of a fixed set of cases compiled for
// each chip, and the case manifest (s10/Quant/GpuCases.h) from which the
// GPU machine rebuilds every weight and input and the C++ reference output.
//
//   s10-cuda-cases OUTDIR [sm_80,sm_90]
//
// writes OUTDIR/cases.txt and OUTDIR/kernels.<chip>.cubin. The check cases
// cover every layout kind and parameter format the CUDA GEMV serves, the
// bundled model's shapes, RMSNorm, Add, SwiGLU, the embedding, rotary,
// attention and the KV appends (plain and rotating q and k), at the bundled
// model's and LLaMA-2-7B's shapes; the bench cases
// are the GEMVs of LLaMA-2-7B (4096x4096, 11008x4096, 4096x11008) at the
// Squeeze10 paper's layout, at 2-bit k-bit, at the default recipe's 3-bit
// k-bit with 8-bit group parameters, and dense fp16, each also fused with
// the residual add or SwiGLU; q, k and v with the norm as one launch are
// checked at both models' shapes. Together they hold every kernel of a
// LLaMA-2-7B decoder at each of these layouts, fused or not
// (s10-synth-llama). The prefill GEMMs (tensor cores, sm_80 and newer) are
// timed at LLaMA-2-7B's shapes over 64 tokens.
//
//===----------------------------------------------------------------------===//

#include "s10/Codegen/CpuCodegen.h"
#include "s10/Codegen/CudaCodegen.h"
#include "s10/Codegen/GpuKernelBuilder.h"
#include "s10/Quant/GpuCases.h"

#include "mlir/IR/MLIRContext.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <array>
#include <cmath>
#include <set>
#include <tuple>

using namespace mlir;
using namespace s10::codegen;
namespace layout = s10::quant::layout;
namespace gc = s10::quant::gpucases;

namespace {

int fail(const std::string &msg) {
  llvm::errs() << "s10-cuda-cases: error: " << msg << "\n";
  return 1;
}

layout::Spec kbit(unsigned bits, int64_t group, layout::ParamFormat f) {
  layout::Spec s;
  s.kind = layout::Kind::KBit;
  s.bits = bits;
  s.groupSize = group;
  s.params = f;
  return s;
}

layout::Spec ternary(int64_t group, layout::ParamFormat f) {
  layout::Spec s = kbit(2, group, f);
  s.kind = layout::Kind::Ternary;
  return s;
}

layout::Spec mixed(layout::Kind kind, unsigned sbits, int64_t group,
                   layout::ParamFormat f, int64_t block = 0) {
  layout::Spec s;
  s.kind = kind;
  s.bits = 1;
  s.salientBits = sbits;
  s.groupSize = group;
  s.params = f;
  s.block = block;
  return s;
}

std::vector<gc::Case> allCases() {
  const auto f16 = layout::ParamFormat::F16, q8 = layout::ParamFormat::Q8;
  std::vector<gc::Case> cases;
  uint64_t seed = 1;
  // fuse=normqkv cases take two seeds: q's, and k's and v's.
  auto gemv = [&](layout::Spec s, int64_t out, int64_t in, bool bench,
                  gc::Fuse fuse = gc::Fuse::None, int64_t kvOut = 0) {
    gc::Case c;
    c.kind = gc::Kind::Gemv;
    c.fuse = fuse;
    c.spec = s;
    c.out = out;
    c.in = in;
    c.kvOut = kvOut;
    c.tokens = bench ? 1 : 2;
    c.bench = bench;
    c.seed = seed++;
    seed += fuse == gc::Fuse::NormQKV;
    cases.push_back(c);
  };
  auto dense = [&](bool isF16, int64_t out, int64_t in, bool bench,
                   gc::Fuse fuse = gc::Fuse::None, int64_t kvOut = 0) {
    gc::Case c;
    c.kind = gc::Kind::Dense;
    c.fuse = fuse;
    c.f16 = isF16;
    c.out = out;
    c.in = in;
    c.kvOut = kvOut;
    c.tokens = bench ? 1 : 2;
    c.bench = bench;
    c.seed = seed++;
    seed += fuse == gc::Fuse::NormQKV;
    cases.push_back(c);
  };
  // The bundled model at the default layout, and every kind and format.
  for (auto [out, in] : std::vector<std::pair<int64_t, int64_t>>{
           {384, 384}, {128, 384}, {1024, 384}, {384, 1024}})
    gemv(mixed(layout::Kind::Bitmap, 4, 128, f16), out, in, false);
  for (unsigned b = 1; b <= 8; ++b)
    gemv(kbit(b, b % 2 ? 64 : 128, b % 2 ? q8 : f16), b == 2 ? 37 : 9,
         b == 2 ? 1280 : 256, false);
  for (unsigned sb = 2; sb <= 8; ++sb)
    gemv(mixed(layout::Kind::Bitmap, sb, sb % 2 ? 32 : 128, sb % 3 ? f16 : q8),
         sb == 4 ? 37 : 11, sb == 4 ? 1280 : 256, false);
  gemv(ternary(128, layout::ParamFormat::Q8T), 37, 1280, false);
  gemv(mixed(layout::Kind::ChannelBlock, 3, 32, f16, 1), 9, 128, false);
  gemv(mixed(layout::Kind::ChannelBlock, 4, 128, q8, 4), 19, 1280, false);
  gemv(mixed(layout::Kind::ChannelBlock, 8, 64, f16, 16), 37, 192, false);
  dense(true, 4096, 384, false);
  dense(false, 19, 64, false);
  for (auto [width, rows] :
       std::vector<std::pair<int64_t, int64_t>>{{384, 7}, {4096, 3}}) {
    gc::Case c;
    c.kind = gc::Kind::RMSNorm;
    c.f16 = true;
    c.in = width;
    c.tokens = rows;
    c.seed = seed++;
    cases.push_back(c);
  }
  for (bool swiglu : {false, true}) {
    gc::Case c;
    c.kind = gc::Kind::Binary;
    c.swiglu = swiglu;
    c.in = 2 * 11008 + 17;
    c.seed = seed++;
    cases.push_back(c);
  }
  // The rest of the plan's ops, at the bundled model's shapes and at
  // LLaMA-2-7B's.
  for (auto [vocab, hidden] :
       std::vector<std::pair<int64_t, int64_t>>{{4096, 384}, {32000, 4096}}) {
    gc::Case c;
    c.kind = gc::Kind::Embedding;
    c.out = vocab;
    c.in = hidden;
    c.tokens = 5;
    c.seed = seed++;
    cases.push_back(c);
  }
  for (auto [heads, dim] :
       std::vector<std::pair<int64_t, int64_t>>{{6, 64}, {2, 64}, {32, 128}}) {
    gc::Case c;
    c.kind = gc::Kind::Rotary;
    c.out = heads;
    c.in = dim;
    c.tokens = 3;
    c.pos0 = 500;
    c.seed = seed++;
    cases.push_back(c);
  }
  for (auto [heads, kv, dim, pos0, tokens] :
       std::vector<std::array<int64_t, 5>>{
           {6, 2, 64, 0, 7}, {6, 2, 64, 300, 1}, {32, 32, 128, 1000, 2}}) {
    gc::Case c;
    c.kind = gc::Kind::Attention;
    c.out = heads;
    c.kvHeads = kv;
    c.in = dim;
    c.scale = double(float(1.0 / std::sqrt(double(dim)))); // the kernel's f32
    c.tokens = tokens;
    c.pos0 = pos0;
    c.maxCtx = 1024 + 32;
    c.seed = seed++;
    cases.push_back(c);
  }
  for (auto [heads, kv, dim] :
       std::vector<std::array<int64_t, 3>>{{6, 2, 64}, {32, 32, 128}}) {
    gc::Case c;
    c.kind = gc::Kind::RopeAppend;
    c.out = heads;
    c.kvHeads = kv;
    c.in = dim;
    c.tokens = 3;
    c.pos0 = 1000;
    c.maxCtx = 1024 + 32;
    c.seed = seed++;
    cases.push_back(c);
  }
  for (int64_t width : {128, 4096}) {
    gc::Case c;
    c.kind = gc::Kind::KvAppend;
    c.in = width;
    c.tokens = 3;
    c.pos0 = 1000;
    c.maxCtx = 1024 + 32;
    c.seed = seed++;
    cases.push_back(c);
  }
  // LLaMA-2-7B's GEMVs.
  for (auto [out, in] : std::vector<std::pair<int64_t, int64_t>>{
           {4096, 4096}, {11008, 4096}, {4096, 11008}}) {
    gemv(mixed(layout::Kind::Bitmap, 4, 128, f16), out, in, true);
    gemv(kbit(2, 128, f16), out, in, true);
    gemv(kbit(3, 256, q8), out, in, true);
    gemv(ternary(128, layout::ParamFormat::Q8T), out, in, true);
    dense(true, out, in, true);
  }
  dense(true, 32000, 4096, true); // the fp16 lm_head
  // Fused GEMVs: the residual add or SwiGLU in the epilogue, the RMSNorm
  // of x in the same pass; checked at small shapes and timed at
  // LLaMA-2-7B's (q, k, v with the norm; o and down with the add; gate and
  // up with the norm and SwiGLU; the head with the norm) beside the plain
  // ones above.
  const auto add = gc::Fuse::Add, swiglu = gc::Fuse::SwiGLU,
             norm = gc::Fuse::Norm, normSwiglu = gc::Fuse::NormSwiGLU;
  gemv(kbit(2, 128, layout::ParamFormat::Q8T), 37, 1280, false, add);
  gemv(mixed(layout::Kind::Bitmap, 4, 128, f16), 37, 1280, false, swiglu);
  gemv(ternary(128, layout::ParamFormat::Q8T), 11, 384, false, normSwiglu);
  gemv(kbit(3, 64, q8), 19, 512, false, norm);
  dense(false, 19, 64, false, add);
  dense(true, 9, 256, false, norm);
  for (auto [out, in, fuse] :
       std::vector<std::tuple<int64_t, int64_t, gc::Fuse>>{
           {4096, 4096, norm},
           {4096, 4096, add},
           {11008, 4096, normSwiglu},
           {4096, 11008, add}}) {
    gemv(mixed(layout::Kind::Bitmap, 4, 128, f16), out, in, true, fuse);
    gemv(kbit(2, 128, f16), out, in, true, fuse);
    gemv(kbit(3, 256, q8), out, in, true, fuse);
    gemv(ternary(128, layout::ParamFormat::Q8T), out, in, true, fuse);
    dense(true, out, in, true, fuse);
  }
  dense(true, 32000, 4096, true, norm); // the lm_head with the final norm
  // q, k and v with the norm in one launch: rows of different counts and
  // layouts' shapes checked small, the bundled model's and LLaMA-2-7B's
  // at each layout.
  const auto qkv = gc::Fuse::NormQKV;
  gemv(kbit(2, 128, layout::ParamFormat::Q8T), 37, 1280, false, qkv, 19);
  gemv(ternary(128, layout::ParamFormat::Q8T), 11, 384, false, qkv, 5);
  dense(true, 9, 256, false, qkv, 5);
  gemv(mixed(layout::Kind::Bitmap, 4, 128, f16), 384, 384, false, qkv, 128);
  gemv(mixed(layout::Kind::Bitmap, 4, 128, f16), 4096, 4096, false, qkv, 4096);
  gemv(kbit(2, 128, f16), 4096, 4096, false, qkv, 4096);
  gemv(kbit(3, 256, q8), 4096, 4096, false, qkv, 4096);
  gemv(ternary(128, layout::ParamFormat::Q8T), 4096, 4096, false, qkv, 4096);
  dense(true, 4096, 4096, false, qkv, 4096);
  // The prefill GEMM on tensor cores: token counts that leave tiles part
  // empty checked small, 64 tokens (two token tiles) at LLaMA-2-7B's shapes
  // checked and timed.
  auto gemm = [&](layout::Spec s, int64_t out, int64_t in, int64_t tokens,
                  bool bench) {
    gemv(s, out, in, bench, gc::Fuse::Gemm);
    cases.back().tokens = tokens;
  };
  const auto gemmQ8t = layout::ParamFormat::Q8T;
  gemm(kbit(2, 128, gemmQ8t), 37, 1280, 37, false);
  gemm(mixed(layout::Kind::Bitmap, 4, 128, f16), 19, 640, 40, false);
  gemm(kbit(3, 256, q8), 9, 512, 33, false);
  gemm(ternary(128, gemmQ8t), 11, 384, 5, false);
  for (auto [out, in] : std::vector<std::pair<int64_t, int64_t>>{
           {4096, 4096}, {11008, 4096}, {4096, 11008}}) {
    gemm(mixed(layout::Kind::Bitmap, 4, 128, f16), out, in, 64, true);
    gemm(kbit(2, 128, f16), out, in, 64, true);
    gemm(ternary(128, gemmQ8t), out, in, 64, true);
  }
  return cases;
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3 || std::string(argv[1]) == "--help") {
    llvm::errs() << "usage: s10-cuda-cases OUTDIR [sm_80,sm_90]\n";
    return argc == 2 ? 0 : 1;
  }
  std::string outDir = argv[1];
  std::vector<std::string> chips = {"sm_80", "sm_90"};
  if (argc == 3) {
    chips.clear();
    llvm::SmallVector<llvm::StringRef> parts;
    llvm::StringRef(argv[2]).split(parts, ',');
    for (llvm::StringRef p : parts) {
      if (!isCudaChip(p))
        return fail("not a CUDA chip: '" + p.str() + "'");
      chips.push_back(p.str());
    }
  }
  if (std::error_code ec = llvm::sys::fs::create_directories(outDir))
    return fail("cannot create '" + outDir + "': " + ec.message());

  std::vector<gc::Case> cases = allCases();
  std::string error;
  for (gc::Case &c : cases)
    if (!resolveGpuCase(c, error))
      return fail("case " + gc::caseLine(c) + ": " + error);

  DialectRegistry registry;
  registerGpuKernelDialects(registry);
  registerCudaCodegen(registry);
  MLIRContext ctx(registry);
  ctx.loadAllAvailableDialects();
  for (const std::string &chip : chips) {
    Location loc = UnknownLoc::get(&ctx);
    gpu::GPUModuleOp gm;
    OwningOpRef<ModuleOp> holder = createKernelModule(loc, gm);
    OpBuilder b = OpBuilder::atBlockEnd(gm.getBody());
    std::set<std::string> built;
    for (const gc::Case &c : cases) {
      if (!built.insert(c.kernel).second)
        continue;
      if (failed(buildGpuCaseKernel(b, loc, c)))
        return fail("cannot build " + c.kernel);
    }
    std::string cubin;
    if (failed(compileCudaKernels(*holder, chip, /*ptx=*/false, cubin, error)))
      return fail(error);
    llvm::SmallString<256> path(outDir);
    llvm::sys::path::append(path, "kernels." + chip + ".cubin");
    std::error_code ec;
    llvm::raw_fd_ostream os(path, ec);
    if (ec)
      return fail("cannot write '" + path.str().str() + "': " + ec.message());
    os << cubin;
    llvm::errs() << "s10-cuda-cases: " << path << ": " << built.size()
                 << " kernels, " << cubin.size() << " bytes\n";
  }
  llvm::SmallString<256> path(outDir);
  llvm::sys::path::append(path, "cases.txt");
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec)
    return fail("cannot write '" + path.str().str() + "': " + ec.message());
  os << "# s10 CUDA kernel cases (s10/Quant/GpuCases.h); kernels.<chip>.cubin"
        " beside\n";
  for (const gc::Case &c : cases)
    os << gc::caseLine(c) << "\n";
  llvm::errs() << "s10-cuda-cases: " << path << ": " << cases.size()
               << " cases\n";
  return 0;
}
