//===- CpuCodegen.cpp - Kernel modules to x86-64 shared objects -----------===//

#include "s10/Codegen/CpuCodegen.h"

#include "CaptureDiagnostics.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "llvm/Analysis/TargetLibraryInfo.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/InstIterator.h"
#include "llvm/IR/Instructions.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/Verifier.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"

#include <mutex>

using namespace mlir;
using s10::codegen::detail::CaptureDiagnostics;

void s10::codegen::buildLowerKernelsToLLVMPipeline(OpPassManager &pm) {
  pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  ConvertFuncToLLVMPassOptions funcOptions;
  funcOptions.useBarePtrCallConv = true;
  pm.addPass(createConvertFuncToLLVMPass(funcOptions));
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void s10::codegen::registerLowerKernelsToLLVMPipeline() {
  PassPipelineRegistration<>(
      "s10-lower-kernels-to-llvm",
      "Lower s10 kernel functions (memref, scf, arith, math, vector, func) "
      "to the llvm dialect with bare-pointer arguments",
      buildLowerKernelsToLLVMPipeline);
}

LogicalResult s10::codegen::lowerKernelsToLLVM(ModuleOp module,
                                               std::string &error) {
  CaptureDiagnostics diags(module.getContext());
  PassManager pm(module.getContext(), ModuleOp::getOperationName());
  buildLowerKernelsToLLVMPipeline(pm);
  if (succeeded(pm.run(module)))
    return success();
  error = "lowering the kernels to the llvm dialect failed:\n" + diags.text;
  return failure();
}

void s10::codegen::registerKernelTranslations(DialectRegistry &registry) {
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
}

std::string s10::codegen::findLinker() {
  for (const char *name : {"ld.lld", "ld.lld-22"}) {
    if (auto path = llvm::sys::findProgramByName(name))
      return *path;
    if (auto path =
            llvm::sys::findProgramByName(name, {"/usr/lib/llvm-22/bin"}))
      return *path;
  }
  return "";
}

namespace {

/// Removes a file when it goes out of scope.
struct TempFile {
  llvm::SmallString<128> path;
  ~TempFile() {
    if (!path.empty())
      llvm::sys::fs::remove(path);
  }
};

LogicalResult makeTemp(StringRef suffix, TempFile &f, std::string &error) {
  if (std::error_code ec =
          llvm::sys::fs::createTemporaryFile("s10-kernels", suffix, f.path)) {
    error = "cannot create a temporary file: " + ec.message();
    return failure();
  }
  return success();
}

std::unique_ptr<llvm::TargetMachine>
makeTargetMachine(StringRef cpu, const llvm::Triple &triple,
                  std::string &error) {
  static std::once_flag once;
  std::call_once(once, [] {
    LLVMInitializeX86TargetInfo();
    LLVMInitializeX86Target();
    LLVMInitializeX86TargetMC();
    LLVMInitializeX86AsmPrinter();
  });
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return nullptr;
  std::string cpuName = cpu.str(), features;
  if (cpu == "native") {
    cpuName = llvm::sys::getHostCPUName().str();
    for (const auto &f : llvm::sys::getHostCPUFeatures())
      features += (features.empty() ? "" : ",") +
                  std::string(f.second ? "+" : "-") + f.first().str();
  }
  // Checked first: LLVM only warns on stderr about unknown CPUs.
  std::unique_ptr<llvm::MCSubtargetInfo> sti(
      target->createMCSubtargetInfo(triple, "", ""));
  if (!sti || !sti->isCPUStringValid(cpuName)) {
    error = "unknown x86-64 CPU '" + cpuName + "'";
    return nullptr;
  }
  llvm::TargetOptions options;
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      triple, cpuName, features, options, llvm::Reloc::PIC_, std::nullopt,
      llvm::CodeGenOptLevel::Aggressive));
  if (!tm) {
    error = "cannot create an x86-64 target machine";
    return nullptr;
  }
  return tm;
}

/// Rewrites every f16 -> f32 extension into integer operations, exactly:
/// without F16C the backend would call __extendhfsf2 for each value. Normal
/// values move their bits, subnormals are em * 2^-24 (exact), Inf and NaN
/// keep their payload.
void expandHalfExtensions(llvm::Module &m) {
  llvm::SmallVector<llvm::FPExtInst *> exts;
  for (llvm::Function &f : m)
    for (llvm::Instruction &inst : llvm::instructions(f))
      if (auto *ext = llvm::dyn_cast<llvm::FPExtInst>(&inst))
        if (ext->getSrcTy()->getScalarType()->isHalfTy() &&
            ext->getDestTy()->getScalarType()->isFloatTy())
          exts.push_back(ext);
  for (llvm::FPExtInst *ext : exts) {
    llvm::IRBuilder<> b(ext);
    llvm::Type *srcTy = ext->getSrcTy(), *dstTy = ext->getDestTy();
    auto withScalar = [&](llvm::Type *t) -> llvm::Type * {
      if (auto *vt = llvm::dyn_cast<llvm::VectorType>(srcTy))
        return llvm::VectorType::get(t, vt->getElementCount());
      return t;
    };
    llvm::Type *i16 = withScalar(b.getInt16Ty());
    llvm::Type *i32 = withScalar(b.getInt32Ty());
    auto c = [&](uint32_t v) { return llvm::ConstantInt::get(i32, v); };
    llvm::Value *x =
        b.CreateZExt(b.CreateBitCast(ext->getOperand(0), i16), i32);
    llvm::Value *sign = b.CreateShl(b.CreateAnd(x, c(0x8000)), c(16));
    llvm::Value *em = b.CreateAnd(x, c(0x7fff));
    llvm::Value *moved = b.CreateShl(em, c(13));
    llvm::Value *normal = b.CreateAdd(moved, c(0x38000000));
    llvm::Value *special = b.CreateOr(moved, c(0x7f800000));
    llvm::Value *sub =
        b.CreateBitCast(b.CreateFMul(b.CreateUIToFP(em, dstTy),
                                     llvm::ConstantFP::get(dstTy, 0x1p-24)),
                        i32);
    llvm::Value *v =
        b.CreateSelect(b.CreateICmpUGE(em, c(0x7c00)), special, normal);
    v = b.CreateSelect(b.CreateICmpULT(em, c(0x400)), sub, v);
    ext->replaceAllUsesWith(b.CreateBitCast(b.CreateOr(sign, v), dstTy));
    ext->eraseFromParent();
  }
}

} // namespace

LogicalResult s10::codegen::cpuFeatures(StringRef cpu,
                                        std::vector<std::string> &features,
                                        std::string &error) {
  llvm::Triple triple("x86_64-unknown-linux-gnu");
  std::unique_ptr<llvm::TargetMachine> tm =
      makeTargetMachine(cpu, triple, error);
  if (!tm)
    return failure();
  const llvm::MCSubtargetInfo *sti = tm->getMCSubtargetInfo();
  features.clear();
  for (const llvm::SubtargetFeatureKV &kv : sti->getAllProcessorFeatures())
    if (sti->checkFeatures(std::string("+") + kv.Key))
      features.push_back(kv.Key);
  return success();
}

LogicalResult s10::codegen::emitSharedObject(ModuleOp module, StringRef cpu,
                                             std::string &soBytes,
                                             std::string &error) {
  std::string linker = findLinker();
  if (linker.empty()) {
    error = "ld.lld not found (looked for ld.lld and ld.lld-22 on PATH and in "
            "/usr/lib/llvm-22/bin); install the lld package";
    return failure();
  }
  llvm::Triple triple("x86_64-unknown-linux-gnu");
  std::unique_ptr<llvm::TargetMachine> tm =
      makeTargetMachine(cpu, triple, error);
  if (!tm)
    return failure();

  DialectRegistry registry;
  registerKernelTranslations(registry);
  module.getContext()->appendDialectRegistry(registry);
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> mod;
  {
    CaptureDiagnostics diags(module.getContext());
    mod = translateModuleToLLVMIR(module, llvmContext, "s10_kernels");
    if (!mod) {
      error = "translation to LLVM IR failed (is the module lowered to the "
              "llvm dialect?):\n" +
              diags.text;
      return failure();
    }
  }
  mod->setTargetTriple(triple);
  mod->setDataLayout(tm->createDataLayout());
  {
    std::string msg;
    llvm::raw_string_ostream os(msg);
    if (llvm::verifyModule(*mod, &os)) {
      error = "invalid LLVM IR: " + msg;
      return failure();
    }
  }

  if (!tm->getMCSubtargetInfo()->checkFeatures("+f16c"))
    expandHalfExtensions(*mod);

  // No library calls: loops stay loops (no memset / memcpy), so the shared
  // object needs nothing from libc.
  llvm::TargetLibraryInfoImpl tlii(triple);
  tlii.disableAllFunctions();
  {
    llvm::LoopAnalysisManager lam;
    llvm::FunctionAnalysisManager fam;
    llvm::CGSCCAnalysisManager cgam;
    llvm::ModuleAnalysisManager mam;
    llvm::PassBuilder pb(tm.get());
    fam.registerPass([&] { return llvm::TargetLibraryAnalysis(tlii); });
    pb.registerModuleAnalyses(mam);
    pb.registerCGSCCAnalyses(cgam);
    pb.registerFunctionAnalyses(fam);
    pb.registerLoopAnalyses(lam);
    pb.crossRegisterProxies(lam, fam, cgam, mam);
    llvm::ModulePassManager mpm =
        pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3);
    mpm.run(*mod, mam);
  }

  llvm::SmallVector<char, 0> object;
  {
    llvm::raw_svector_ostream os(object);
    llvm::legacy::PassManager pm;
    pm.add(new llvm::TargetLibraryInfoWrapperPass(tlii));
    if (tm->addPassesToEmitFile(pm, os, nullptr,
                                llvm::CodeGenFileType::ObjectFile)) {
      error = "the x86-64 target cannot emit object files";
      return failure();
    }
    pm.run(*mod);
  }

  TempFile obj, so, log;
  if (failed(makeTemp("o", obj, error)) || failed(makeTemp("so", so, error)) ||
      failed(makeTemp("log", log, error)))
    return failure();
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(obj.path, ec);
    if (ec) {
      error = "cannot write " + obj.path.str().str() + ": " + ec.message();
      return failure();
    }
    os.write(object.data(), object.size());
  }
  // --no-undefined: the kernels must not depend on any other library.
  llvm::SmallVector<StringRef> args = {linker,  "-shared",     "--no-undefined",
                                       "-z",    "noexecstack", "-o",
                                       so.path, obj.path};
  std::string execError;
  std::optional<StringRef> redirects[] = {std::nullopt, log.path.str(),
                                          log.path.str()};
  int rc = llvm::sys::ExecuteAndWait(linker, args, std::nullopt, redirects, 0,
                                     0, &execError);
  if (rc != 0) {
    std::string output;
    if (auto buf = llvm::MemoryBuffer::getFile(log.path))
      output = (*buf)->getBuffer().str();
    error = "linking with " + linker + " failed" +
            (execError.empty() ? "" : ": " + execError) +
            (output.empty() ? "" : ":\n" + output);
    return failure();
  }
  auto buf = llvm::MemoryBuffer::getFile(so.path, /*IsText=*/false,
                                         /*RequiresNullTerminator=*/false);
  if (!buf) {
    error = "cannot read the linked shared object: " + buf.getError().message();
    return failure();
  }
  soBytes = (*buf)->getBuffer().str();
  return success();
}
