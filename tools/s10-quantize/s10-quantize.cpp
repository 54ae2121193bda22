//===- s10-quantize.cpp - Quantize a model, in shards under MPI -----------===//
//
// The squeeze10-quantize pipeline as a command. Under mpirun every rank
// quantizes its share of the layers (shards = size, shard = rank), writes
// it beside the output, and after a barrier rank 0 assembles the parts
// with squeeze-merge-shards: the result is byte for byte one process's.
//
//===----------------------------------------------------------------------===//

#include "s10/InitAll.h"
#include "s10/Runtime/BlasCoreType.h"
#include "s10/Tools/InputFile.h"
#include "s10/Tools/OutputFile.h"

#include "mlir/Bytecode/BytecodeWriter.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#ifdef S10_HAVE_MPI
#include <mpi.h>
#endif

#include <algorithm>
#include <string>
#include <thread>

using namespace llvm;

static cl::OptionCategory category("s10-quantize options");
static cl::opt<std::string>
    inputPath(cl::Positional, cl::Required,
              cl::desc("<raised model (.mlir/.mlirbc)>"), cl::cat(category));
static cl::opt<std::string> outputPath("o", cl::Required,
                                       cl::desc("Quantized model to write"),
                                       cl::value_desc("file"),
                                       cl::cat(category));
static cl::opt<std::string>
    options("options", cl::init(""),
            cl::desc("squeeze10-quantize options, as for s10-opt "
                     "(e.g. \"calib=valid.txt nsamples=128\")"),
            cl::value_desc("string"), cl::cat(category));
static cl::opt<bool> emitBytecode("emit-bytecode", cl::init(false),
                                  cl::desc("Write MLIR bytecode"),
                                  cl::cat(category));
static cl::opt<bool> keepParts("keep-parts", cl::init(false),
                               cl::desc("Keep each rank's part file"),
                               cl::cat(category));

namespace {

/// This process's place among the processes mpirun started.
struct World {
  int rank = 0, size = 1;
  /// Ranks on this machine (they share its cores).
  int localSize = 1;
#ifdef S10_HAVE_MPI
  bool mpi = false;
#endif

  void init(int &argc, char **&argv) {
#ifdef S10_HAVE_MPI
    MPI_Init(&argc, &argv);
    mpi = true;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm local;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank,
                        MPI_INFO_NULL, &local);
    MPI_Comm_size(local, &localSize);
    MPI_Comm_free(&local);
#endif
  }
  /// True when every rank passes `ok` (a barrier as well).
  bool allOk(bool ok) {
#ifdef S10_HAVE_MPI
    if (mpi) {
      int mine = ok ? 1 : 0, all = 0;
      MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
      return all == 1;
    }
#endif
    return ok;
  }
  ~World() {
#ifdef S10_HAVE_MPI
    if (mpi)
      MPI_Finalize();
#endif
  }
};

std::string partPath(int rank) {
  return outputPath + ".part" + std::to_string(rank) + ".mlirbc";
}

/// Runs the passes of `pipeline` (not anchored: the manager is the
/// module's) on `module`; errors go to stderr.
bool runPipeline(mlir::ModuleOp module, const std::string &pipeline) {
  mlir::PassManager pm(module.getContext());
  std::string error;
  raw_string_ostream os(error);
  if (mlir::failed(mlir::parsePassPipeline(pipeline, pm, os))) {
    errs() << "s10-quantize: " << error << "\n";
    return false;
  }
  return mlir::succeeded(pm.run(module));
}

bool writeModule(mlir::ModuleOp module, StringRef path, bool bytecode) {
  std::string bytes;
  raw_string_ostream os(bytes);
  if (bytecode) {
    if (mlir::failed(mlir::writeBytecodeToFile(module, os)))
      return false;
  } else {
    module.print(os);
    os << "\n";
  }
  if (Error err = s10::writeFileAtomically(path, bytes)) {
    errs() << "s10-quantize: " << toString(std::move(err)) << "\n";
    return false;
  }
  return true;
}

} // namespace

int main(int argc, char **argv) {
  s10::runtime::setPreferredBlasCoreType(argv);
  InitLLVM y(argc, argv);
  World world;
  world.init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "s10-quantize: quantize and pack a raised model (squeeze10-quantize)\n\n"
      "  s10-quantize model.mlir --options=\"calib=valid.txt\" -o m.q.mlirbc\n"
      "  mpirun -n 4 s10-quantize model.mlir --options=\"calib=valid.txt\" "
      "-o m.q.mlirbc\n\n"
      "Under mpirun each rank quantizes every size-th decoder layer and rank "
      "0\n"
      "merges the parts (written beside the output) into the model one\n"
      "process would give. The options are those of --squeeze10-quantize\n"
      "(s10-opt --help lists them); ranks on one machine split its cores\n"
      "unless the options set threads=.\n");
#ifndef S10_HAVE_MPI
  if (getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE")) {
    errs() << "s10-quantize: started by mpirun, but built without MPI "
              "(install libopenmpi-dev and rebuild)\n";
    return 1;
  }
#endif

  mlir::DialectRegistry registry;
  s10::registerAllDialects(registry);
  s10::registerAllPasses();
  mlir::MLIRContext context(registry);
  // Each rank runs its own threads; ranks share the machine's cores.
  if (world.size > 1)
    context.disableMultithreading();

  bool ok = true;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  auto buffer = s10::readModelFile(inputPath);
  if (!buffer) {
    errs() << "s10-quantize: cannot read '" << inputPath
           << "': " << buffer.getError().message() << "\n";
    ok = false;
  } else {
    SourceMgr sources;
    sources.AddNewSourceBuffer(std::move(*buffer), SMLoc());
    module = mlir::parseSourceFile<mlir::ModuleOp>(sources, &context);
    ok = bool(module);
  }

  for (StringRef method : {"method=rtn", "method=binary"})
    if (world.size > 1 && StringRef(options).contains(method)) {
      if (world.rank == 0)
        errs() << "s10-quantize: " << method
               << " needs no calibration and takes seconds; run it in one "
                  "process\n";
      return 1;
    }
  std::string opts = options;
  if (world.size > 1) {
    opts += " shards=" + std::to_string(world.size) +
            " shard=" + std::to_string(world.rank);
    // Ranks on one machine split its cores unless told otherwise.
    if (StringRef(options).find("threads=") == StringRef::npos) {
      unsigned cores = std::max(1u, std::thread::hardware_concurrency());
      opts += " threads=" +
              std::to_string(std::max(1u, cores / unsigned(world.localSize)));
    }
  }
  if (ok)
    ok = runPipeline(*module, "squeeze10-quantize{" + opts + "}");
  if (world.size == 1)
    return ok && writeModule(*module, outputPath, emitBytecode) ? 0 : 1;

  // Every rank's part on disk before rank 0 reads them.
  if (ok && world.rank > 0)
    ok = writeModule(*module, partPath(world.rank), /*bytecode=*/true);
  bool allOk = world.allOk(ok);
  if (allOk && world.rank == 0) {
    std::string parts;
    for (int r = 1; r < world.size; ++r)
      parts += (r > 1 ? "," : "") + partPath(r);
    ok = runPipeline(*module, "squeeze-merge-shards{parts=" + parts + "}") &&
         writeModule(*module, outputPath, emitBytecode);
    if (ok)
      errs() << "s10-quantize: merged " << world.size << " shards into '"
             << outputPath << "'\n";
  } else if (!allOk && world.rank == 0) {
    errs() << "s10-quantize: a rank failed; nothing written\n";
    ok = false;
  }
  // Parts are read by rank 0 only; remove them once it is done.
  bool done = world.allOk(ok);
  if (world.rank > 0 && !keepParts)
    sys::fs::remove(partPath(world.rank));
  return done ? 0 : 1;
}
