//===- WeightStoreTest.cpp - External weights -----------------------------===//

#include "TestUtil.h"

#include "s10/Dialect/Squeeze/IR/SqueezeOps.h"
#include "s10/Runtime/WeightStore.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

using namespace s10::runtime;
using namespace s10::runtime::test;

namespace {

/// A temporary directory holding "w.bin": 4 bytes of padding, then the f16
/// values 1, -2, 0.5, 65504 and the f32 values 3, 4.
struct WeightDir {
  llvm::SmallString<128> dir;
  WeightDir() {
    EXPECT_FALSE(llvm::sys::fs::createUniqueDirectory("s10-weights", dir));
    llvm::SmallString<128> file(dir);
    llvm::sys::path::append(file, "w.bin");
    std::error_code ec;
    llvm::raw_fd_ostream os(file, ec);
    EXPECT_FALSE(ec);
    uint16_t half[4] = {floatToHalf(1.0f), floatToHalf(-2.0f),
                        floatToHalf(0.5f), 0x7bff};
    float f32[2] = {3.0f, 4.0f};
    os.write("pad!", 4);
    os.write(reinterpret_cast<const char *>(half), sizeof(half));
    os.write(reinterpret_cast<const char *>(f32), sizeof(f32));
  }
  ~WeightDir() { llvm::sys::fs::remove_directories(dir); }
};

const char *kModule = R"(
module {attrs} {
  func.func @main() -> (tensor<2x2xf16>, tensor<2xf32>) {
    %a = squeeze.weight "a" {storage = #squeeze.extern<"w.bin", offset = 4, length = 8>} : tensor<2x2xf16>
    %b = squeeze.weight "b" {storage = #squeeze.extern<"w.bin", offset = 12, length = 8>} : tensor<2xf32>
    return %a, %b : tensor<2x2xf16>, tensor<2xf32>
  }
})";

std::string moduleText(const std::string &attrs) {
  std::string s = kModule;
  s.replace(s.find("{attrs}"), 7, attrs);
  return s;
}

/// The module with `squeeze.weights_dir = dir`.
std::string moduleIn(llvm::StringRef dir) {
  return moduleText("attributes {squeeze.weights_dir = \"" + dir.str() + "\"}");
}

TEST(WeightStoreTest, ResolvesAgainstWeightsDirAndUpcasts) {
  WeightDir w;
  auto ctx = makeContext();
  auto module =
      mlir::parseSourceString<mlir::ModuleOp>(moduleIn(w.dir), ctx.get());
  ASSERT_TRUE(module);
  for (FloatMode mode : {FloatMode::F32, FloatMode::Exact}) {
    ExecOptions opts;
    opts.floatMode = mode;
    auto exec = Executor::create(*module, opts);
    ASSERT_TRUE(bool(exec)) << llvm::toString(exec.takeError());
    auto out = runOk(**exec, {});
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].dtype(), mode == FloatMode::F32 ? DType::F32 : DType::F16);
    expectNear(out[0], {1.0f, -2.0f, 0.5f, 65504.0f}, 0);
    expectNear(out[1], {3.0f, 4.0f}, 0);
    // Weights are views of the mapping or cached conversions: read-only.
    EXPECT_FALSE(out[0].isUniqueWritable());
  }
}

TEST(WeightStoreTest, WithoutCachingConversionsAreNotKept) {
  WeightDir w;
  auto ctx = makeContext();
  auto module =
      mlir::parseSourceString<mlir::ModuleOp>(moduleIn(w.dir), ctx.get());
  ASSERT_TRUE(module);
  s10::squeeze::WeightOp op;
  module->walk([&](s10::squeeze::WeightOp w) {
    if (!op)
      op = w;
  });
  ASSERT_TRUE(op);
  for (bool caching : {true, false}) {
    WeightStore store(w.dir.str().str());
    store.setCaching(caching);
    auto a = store.load(op, /*upcastToF32=*/true);
    auto b = store.load(op, /*upcastToF32=*/true);
    ASSERT_TRUE(a && b);
    expectNear(*a, {1.0f, -2.0f, 0.5f, 65504.0f}, 0);
    expectNear(*b, {1.0f, -2.0f, 0.5f, 65504.0f}, 0);
    // Cached: one shared conversion; not cached: each caller owns its copy.
    EXPECT_EQ(a->raw() == b->raw(), caching);
    EXPECT_EQ(store.cachedBytes(), caching ? 16u : 0u);
    // Reading the bytes again after dropping their pages gives them back.
    auto bytes = store.getBytes("w.bin", 4, 8);
    ASSERT_TRUE(bool(bytes));
    store.doneWith("w.bin", *bytes);
    auto again = store.getBytes("w.bin", 4, 8);
    ASSERT_TRUE(bool(again));
    EXPECT_EQ(halfToFloat(reinterpret_cast<const uint16_t *>(again->data())[1]),
              -2.0f);
  }
}

TEST(WeightStoreTest, ResolvesAgainstTheModuleFile) {
  WeightDir w;
  auto ctx = makeContext();
  auto module =
      mlir::parseSourceString<mlir::ModuleOp>(moduleText(""), ctx.get());
  ASSERT_TRUE(module);
  llvm::SmallString<128> path(w.dir);
  llvm::sys::path::append(path, "model.mlir");
  auto exec = Executor::create(*module, {}, path);
  ASSERT_TRUE(bool(exec)) << llvm::toString(exec.takeError());
  auto out = runOk(**exec, {});
  ASSERT_EQ(out.size(), 2u);
  expectNear(out[1], {3.0f, 4.0f}, 0);

  // A relative weights_dir is relative to the module's file.
  llvm::SmallString<128> sub(w.dir);
  llvm::sys::path::append(sub, "sub", "model.mlir");
  auto rel = mlir::parseSourceString<mlir::ModuleOp>(moduleIn(".."), ctx.get());
  ASSERT_TRUE(rel);
  EXPECT_EQ(WeightStore::baseDirFor(*rel, sub), (w.dir + "/sub/..").str());
}

TEST(WeightStoreTest, MissingFileAndBadRangeAreErrors) {
  WeightDir w;
  auto ctx = makeContext();
  std::string text = moduleIn(w.dir);
  text.replace(text.find("offset = 12"), 11, "offset = 16");
  auto module = mlir::parseSourceString<mlir::ModuleOp>(text, ctx.get());
  ASSERT_TRUE(module);
  auto exec = Executor::create(*module, {});
  ASSERT_TRUE(bool(exec));
  auto res = (*exec)->run({});
  ASSERT_FALSE(bool(res));
  std::string msg = llvm::toString(res.takeError());
  EXPECT_NE(msg.find("squeeze.weight \"b\""), std::string::npos) << msg;
  // Named once, not once per layer that passes the error on.
  EXPECT_EQ(msg.find("squeeze.weight \"b\""), msg.rfind("squeeze.weight \"b\""))
      << msg;
  EXPECT_NE(msg.find("outside"), std::string::npos) << msg;

  auto noDir = mlir::parseSourceString<mlir::ModuleOp>(moduleIn("/nonexistent"),
                                                       ctx.get());
  auto exec2 = Executor::create(*noDir, {});
  ASSERT_TRUE(bool(exec2));
  auto res2 = (*exec2)->run({});
  ASSERT_FALSE(bool(res2));
  EXPECT_NE(llvm::toString(res2.takeError()).find("/nonexistent/w.bin"),
            std::string::npos);
}

TEST(WeightStoreTest, ModelPathsStayInTheWeightsDirectory) {
  EXPECT_FALSE(bool(WeightStore::checkModelPath("w.bin")));
  EXPECT_FALSE(bool(WeightStore::checkModelPath("sub/w.bin")));
  for (llvm::StringRef bad :
       {llvm::StringRef("/etc/passwd"), llvm::StringRef("../w.bin"),
        llvm::StringRef("sub/../../w.bin"), llvm::StringRef("w\0.bin", 6)}) {
    llvm::Error e = WeightStore::checkModelPath(bad);
    EXPECT_TRUE(bool(e)) << bad.str();
    llvm::consumeError(std::move(e));
  }
}

TEST(WeightStoreTest, GetBytesTakesAbsolutePathsButOnlyRegularFiles) {
  // The quantization passes read their side files by absolute path.
  WeightDir w;
  WeightStore store("/nonexistent");
  llvm::SmallString<128> file(w.dir);
  llvm::sys::path::append(file, "w.bin");
  auto bytes = store.getBytes(file, 0, 4);
  ASSERT_TRUE(bool(bytes)) << llvm::toString(bytes.takeError());
  EXPECT_EQ(llvm::StringRef(reinterpret_cast<const char *>(bytes->data()), 4),
            "pad!");

  // /dev/zero would be read without end; a directory is no weight file.
  for (llvm::StringRef bad : {llvm::StringRef("/dev/zero"), w.dir.str()}) {
    auto res = store.getBytes(bad, 0, 4);
    ASSERT_FALSE(bool(res));
    std::string msg = llvm::toString(res.takeError());
    EXPECT_NE(msg.find("is not a regular file"), std::string::npos) << msg;
  }
}

TEST(ExecutorOptionsTest, ThreadCountIsBounded) {
  auto ctx = makeContext();
  auto module =
      mlir::parseSourceString<mlir::ModuleOp>(moduleText(""), ctx.get());
  ASSERT_TRUE(module);
  for (int n : {-1, 2000}) {
    ExecOptions opts;
    opts.numThreads = n;
    auto exec = Executor::create(*module, opts);
    ASSERT_FALSE(bool(exec));
    std::string msg = llvm::toString(exec.takeError());
    EXPECT_NE(msg.find("thread count must be in [0, 256]"), std::string::npos)
        << msg;
  }
}

} // namespace
