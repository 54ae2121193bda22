//===- s10-compile.cpp - Compile an s10 model to a .s10 artifact ----------===//
//
//   s10-compile model.q.mlirbc --target=cpu -o model.s10
//   s10-compile model.q.mlirbc --target=cuda --chip=sm_90 --emit=cubin -o
//   k.cubin
//
// Reads a raised (usually quantized and packed) model and writes ONE file
// that libs10rt runs without MLIR, LLVM or the ONNX weights: the config,
// every tensor, the execution plan and the kernels.
//
//===----------------------------------------------------------------------===//

#include "s10/Codegen/CpuCodegen.h"
#include "s10/Codegen/CudaCodegen.h"
#include "s10/Codegen/Passes.h"
#include "s10/InitAll.h"
#include "s10/Target/Artifact/ArtifactWriter.h"
#include "s10/Tools/InputFile.h"
#include "s10/Tools/OutputFile.h"
#include "s10/Tools/VerifyWeights.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>

using namespace llvm;

static cl::OptionCategory compileCat("s10-compile options");

static cl::opt<std::string> inputPath(cl::Positional, cl::Required,
                                      cl::desc("<model.mlir|model.mlirbc>"),
                                      cl::cat(compileCat));
static cl::opt<std::string> outputPath("o", cl::Required,
                                       cl::desc("Output artifact (.s10)"),
                                       cl::value_desc("file"),
                                       cl::cat(compileCat));
static cl::opt<std::string>
    target("target",
           cl::desc("Target: cpu (x86-64; default) or cuda (NVIDIA GPUs, "
                    "the cubin of --chip)"),
           cl::init("cpu"), cl::cat(compileCat));
static cl::opt<std::string> chip("chip",
                                 cl::desc("NVIDIA chip of --target=cuda: "
                                          "sm_80, sm_90 (default), ..."),
                                 cl::init("sm_90"), cl::cat(compileCat));
static cl::opt<std::string>
    emit("emit",
         cl::desc("What to write: artifact (a .s10 file; default), or for "
                  "--target=cuda the model's kernels as ptx (PTX text) or "
                  "cubin (assembled by the CUDA toolkit's ptxas)"),
         cl::init("artifact"), cl::cat(compileCat));
static cl::opt<std::string>
    cpu("cpu",
        cl::desc("x86-64 CPU the kernels are compiled for: x86-64-v3 (AVX2, "
                 "default), x86-64-v4 (AVX-512), x86-64, native, or any LLVM "
                 "x86 CPU name"),
        cl::init("x86-64-v3"), cl::cat(compileCat));
static cl::opt<std::string>
    kernelsOpt("kernels",
               cl::desc("generated (default): kernels generated through MLIR "
                        "for every layer they serve; runtime: the runtime's "
                        "own kernels only"),
               cl::init("generated"), cl::cat(compileCat));
static cl::opt<std::string> modelName("name",
                                      cl::desc("Model name stored in the "
                                               "artifact (default: the input "
                                               "file's stem)"),
                                      cl::cat(compileCat));
static cl::opt<int64_t> bosId("bos-id",
                              cl::desc("BOS token id recorded in the artifact "
                                       "(default 1; -1: none)"),
                              cl::init(1), cl::cat(compileCat));
static cl::opt<int64_t> eosId("eos-id",
                              cl::desc("EOS token id recorded in the artifact "
                                       "(default 2; -1: none)"),
                              cl::init(2), cl::cat(compileCat));
static cl::opt<std::string> reportPath("report",
                                       cl::desc("Write a JSON summary"),
                                       cl::value_desc("file"),
                                       cl::cat(compileCat));
static cl::opt<bool> verifyWeights(
    "verify-weights",
    cl::desc("Check every quantized and packed weight before compiling (code "
             "ranges, finite parameters, salient counts, packed bytes); on "
             "by default"),
    cl::init(true), cl::cat(compileCat));
static cl::opt<bool> quiet("quiet", cl::desc("No summary on stderr"),
                           cl::init(false), cl::cat(compileCat));

static int fail(const Twine &msg) {
  errs() << "s10-compile: error: " << msg << "\n";
  return 1;
}

/// Writes the --report JSON; non-zero (after a message) on failure.
static int writeReport(json::Object o) {
  std::string text;
  raw_string_ostream os(text);
  os << formatv("{0:2}", json::Value(std::move(o))) << "\n";
  if (Error e = s10::writeFileAtomically(reportPath, text))
    return fail(toString(std::move(e)));
  return 0;
}

/// --target=cuda: the model's kernels as PTX or a cubin, or an artifact
/// whose plan launches them.
static int compileCuda(mlir::ModuleOp module,
                       std::chrono::steady_clock::time_point start) {
  // Layers left without a kernel are warnings: show them.
  mlir::ScopedDiagnosticHandler warnings(
      module.getContext(), [](mlir::Diagnostic &d) {
        if (d.getSeverity() != mlir::DiagnosticSeverity::Warning)
          return mlir::failure();
        errs() << "s10-compile: warning: ";
        if (auto fl = d.getLocation()->findInstanceOf<mlir::FileLineColLoc>())
          errs() << fl.getFilename().getValue() << ":" << fl.getLine() << ":"
                 << fl.getColumn() << ": ";
        errs() << d << "\n";
        return mlir::success();
      });
  mlir::PassManager pm(module.getContext());
  s10::codegen::GenerateKernelsOptions genOpts;
  genOpts.denseOutIn = true;
  genOpts.target = "cuda";
  // Prefill GEMMs on tensor cores: mma.sync m16n8k16 needs sm_80.
  genOpts.gemm = std::stoul(chip.substr(3)) >= 80;
  pm.addPass(s10::codegen::createGenerateKernels(genOpts));
  if (failed(pm.run(module)))
    return fail(inputPath + ": kernel generation failed");
  // Layers count the ops that run inside another op's kernel too.
  int64_t layers = 0, kernels = 0, gemms = 0;
  int64_t fused = s10::codegen::countFusedLayers(module);
  module.walk([&](mlir::Operation *op) {
    if (op->hasAttr("s10.kernel"))
      ++layers;
    if (auto f = mlir::dyn_cast<mlir::gpu::GPUFuncOp>(op)) {
      ++kernels;
      gemms += f.getName().starts_with("s10_gemm_");
    }
  });
  layers += fused;
  if (kernels == 0)
    return fail(inputPath + ": no layer has a CUDA kernel");
  // Only the kernels are compiled: move them into a module of their own.
  auto gpuModule = module.lookupSymbol<mlir::gpu::GPUModuleOp>("s10_kernels");
  mlir::gpu::GPUModuleOp empty;
  mlir::OwningOpRef<mlir::ModuleOp> holder =
      s10::codegen::createKernelModule(module.getLoc(), empty);
  empty->erase();
  gpuModule->moveBefore(holder->getBody(), holder->getBody()->end());
  std::string bytes, error;
  if (failed(s10::codegen::compileCudaKernels(*holder, chip, emit == "ptx",
                                              bytes, error)))
    return fail(inputPath + ": " + error);
  size_t codeBytes = bytes.size();
  if (emit == "artifact") {
    s10::target::ArtifactOptions opts;
    opts.modulePath = inputPath;
    opts.name = modelName;
    opts.bosId = bosId;
    opts.eosId = eosId;
    opts.cuda = true;
    opts.cudaChip = uint32_t(std::stoul(chip.substr(3)));
    opts.codeObject = std::move(bytes);
    s10::target::ArtifactSummary sum;
    if (Error e = s10::target::writeArtifact(module, opts, bytes, sum))
      return fail(inputPath + ": " + toString(std::move(e)));
  }
  if (Error e = s10::writeFileAtomically(outputPath, bytes))
    return fail(toString(std::move(e)));
  double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  if (!quiet)
    errs() << formatv(
        "s10-compile: {0}: {1} bytes of {2} for {3}: {4} "
        "kernels for {5} layers ({6} of them inside others' kernels; "
        "{7} prefill GEMMs; {8} bytes of code), {9:F2} s\n",
        outputPath, bytes.size(),
        emit == "ptx"     ? "PTX"
        : emit == "cubin" ? "cubin"
                          : "CUDA artifact",
        chip.getValue(), kernels, layers, fused, gemms, codeBytes, secs);
  if (!reportPath.empty()) {
    json::Object o{{"output", outputPath},
                   {"target", "cuda"},
                   {"chip", chip.getValue()},
                   {"emit", emit.getValue()},
                   {"bytes", int64_t(bytes.size())},
                   {"code_bytes", int64_t(codeBytes)},
                   {"kernels", kernels},
                   {"layers", layers},
                   {"fused", fused},
                   {"prefill_gemms", gemms},
                   {"seconds", secs}};
    if (int rc = writeReport(std::move(o)))
      return rc;
  }
  return 0;
}

int main(int argc, char **argv) {
  InitLLVM y(argc, argv);
  cl::HideUnrelatedOptions(compileCat);
  cl::ParseCommandLineOptions(
      argc, argv,
      "s10 ahead-of-time compiler: a raised, packed model to a .s10 "
      "artifact\n\n"
      "  s10-compile model.q.mlirbc --target=cpu -o model.s10\n"
      "  s10-compile model.q.mlirbc --target=cuda --chip=sm_90 -o model.s10\n"
      "  s10-compile model.q.mlirbc --target=cuda --chip=sm_90 --emit=ptx "
      "-o kernels.ptx\n"
      "  s10-run model.s10 --tokenizer tokenizer.model --prompt \"...\"\n");
  auto start = std::chrono::steady_clock::now();

  if (target != "cpu" && target != "cuda")
    return fail("--target must be 'cpu' or 'cuda', got '" + target + "'");
  if (emit != "artifact" && emit != "ptx" && emit != "cubin")
    return fail("--emit must be 'artifact', 'ptx' or 'cubin', got '" + emit +
                "'");
  if (target == "cpu" && emit != "artifact")
    return fail("--emit=" + emit + " needs --target=cuda");
  if (target == "cuda" && !s10::codegen::isCudaChip(chip))
    return fail("--chip must name an NVIDIA chip such as sm_80 or sm_90, "
                "got '" +
                chip + "'");
  if (kernelsOpt != "generated" && kernelsOpt != "runtime")
    return fail("--kernels must be 'generated' or 'runtime', got '" +
                kernelsOpt + "'");
  if (bosId < -1 || eosId < -1 || bosId > INT32_MAX || eosId > INT32_MAX)
    return fail("--bos-id and --eos-id must be token ids or -1");
  if (!sys::fs::exists(inputPath))
    return fail("input file '" + inputPath + "' does not exist");
  if (sys::fs::is_directory(inputPath))
    return fail("input '" + inputPath + "' is a directory");

  mlir::DialectRegistry registry;
  s10::registerAllDialects(registry);
  s10::codegen::registerKernelTranslations(registry);
  s10::registerAllPasses();
  mlir::MLIRContext ctx(registry);
  ctx.loadAllAvailableDialects();
  auto buffer = s10::readModelFile(inputPath);
  if (!buffer)
    return fail("cannot read '" + inputPath +
                "': " + buffer.getError().message());
  SourceMgr sm;
  sm.AddNewSourceBuffer(std::move(*buffer), SMLoc());
  auto module = mlir::parseSourceFile<mlir::ModuleOp>(sm, &ctx);
  if (!module)
    return fail("cannot parse '" + inputPath + "'");
  if (failed(mlir::verify(*module)))
    return fail("'" + inputPath + "' does not verify");
  if (verifyWeights)
    if (Error e = s10::verifyModelWeights(*module, inputPath))
      return fail(toString(std::move(e)));

  if (target == "cuda")
    return compileCuda(*module, start);

  s10::target::ArtifactOptions opts;
  double codegenSecs = 0;
  if (kernelsOpt == "generated") {
    auto t0 = std::chrono::steady_clock::now();
    // Kernels for [out, in] dense matrices: the artifact stores them so.
    mlir::PassManager pm(&ctx);
    s10::codegen::GenerateKernelsOptions genOpts;
    genOpts.denseOutIn = true;
    genOpts.cpu = cpu;
    pm.addPass(s10::codegen::createGenerateKernels(genOpts));
    if (failed(pm.run(*module)))
      return fail(inputPath + ": kernel generation failed");
    mlir::ModuleOp kernels;
    for (auto nested : module->getOps<mlir::ModuleOp>())
      if (nested.getSymName() == "s10_kernels")
        kernels = nested;
    if (kernels && !kernels.getBody()->empty()) {
      kernels->remove();
      mlir::OwningOpRef<mlir::ModuleOp> owned(kernels);
      owned->removeSymNameAttr();
      std::string error;
      if (failed(s10::codegen::lowerKernelsToLLVM(*owned, error)))
        return fail("lowering the kernels failed: " + error);
      if (failed(s10::codegen::emitSharedObject(*owned, cpu, opts.codeObject,
                                                error)))
        return fail(error);
      std::vector<std::string> names;
      if (failed(s10::codegen::cpuFeatures(cpu, names, error)))
        return fail(error);
      opts.cpuFeatures = s10::target::cpuFeatureBits(names);
    }
    codegenSecs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count();
  }
  opts.modulePath = inputPath;
  opts.name = modelName;
  opts.bosId = bosId;
  opts.eosId = eosId;
  std::string bytes;
  s10::target::ArtifactSummary sum;
  if (Error e = s10::target::writeArtifact(*module, opts, bytes, sum))
    return fail(inputPath + ": " + toString(std::move(e)));
  if (Error e = s10::writeFileAtomically(outputPath, bytes))
    return fail(toString(std::move(e)));
  double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();

  int64_t weights = sum.packedWeights + sum.denseWeights;
  if (!quiet)
    errs() << formatv(
        "s10-compile: {0}: {1} bytes ({2} of weights: {3} packed bytes for "
        "{4} quantized weights, {5} dense weights), {6} steps, {7} buffers, "
        "{8} of {6} steps in {9} generated kernels ({10} bytes of {11} code), "
        "{12} decode and {13} GEMM kernels for prefill, {14:F2} s\n",
        outputPath, sum.fileBytes, sum.weightBytes, sum.packedBytes,
        sum.packedWeights, sum.denseWeights, sum.steps, sum.buffers,
        sum.compiledSteps, sum.kernels, sum.codeBytes,
        kernelsOpt == "generated" ? cpu.getValue() : std::string("no"),
        sum.decodeKernels, sum.gemmKernels, secs);
  if (!reportPath.empty()) {
    json::Array features;
    for (const std::string &f : s10::target::cpuFeatureNames(opts.cpuFeatures))
      features.push_back(f);
    json::Object o{{"artifact", outputPath},
                   {"target", target},
                   {"file_bytes", int64_t(sum.fileBytes)},
                   {"weight_bytes", int64_t(sum.weightBytes)},
                   {"packed_bytes", int64_t(sum.packedBytes)},
                   {"code_bytes", int64_t(sum.codeBytes)},
                   {"packed_weights", sum.packedWeights},
                   {"dense_weights", sum.denseWeights},
                   {"matrix_weights", weights},
                   {"steps", int64_t(sum.steps)},
                   {"buffers", int64_t(sum.buffers)},
                   {"tensors", int64_t(sum.tensors)},
                   {"kernels", int64_t(sum.kernels)},
                   {"compiled_steps", int64_t(sum.compiledSteps)},
                   {"decode_kernels", int64_t(sum.decodeKernels)},
                   {"gemm_kernels", int64_t(sum.gemmKernels)},
                   {"cpu", kernelsOpt == "generated" ? cpu.getValue() : ""},
                   {"cpu_features", std::move(features)},
                   {"codegen_seconds", codegenSecs},
                   {"seconds", secs}};
    if (int rc = writeReport(std::move(o)))
      return rc;
  }
  return 0;
}
