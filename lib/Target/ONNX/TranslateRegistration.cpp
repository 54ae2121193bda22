//===- TranslateRegistration.cpp - The --import-onnx translation ---------===//

#include "s10/Target/ONNX/ImportONNX.h"

#include "s10/Dialect/ONNX/IR/ONNXDialect.h"
#include "s10/Dialect/Squeeze/IR/SqueezeDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-translate/Translation.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"

using namespace mlir;

void s10::registerImportONNXTranslation(
    std::function<void(DialectRegistry &)> registerDialects) {
  static bool registered = false;
  if (registered)
    return;
  registered = true;

  static llvm::cl::opt<uint64_t> inlineLimit(
      "onnx-inline-limit",
      llvm::cl::desc("Largest initializer/Constant (in bytes) imported as an "
                     "inline constant; larger external ones become "
                     "squeeze.weight references"),
      llvm::cl::init(ONNXImportOptions().inlineLimitBytes));
  static llvm::cl::opt<std::string> functionName(
      "onnx-function-name", llvm::cl::desc("Name of the imported function"),
      llvm::cl::init(ONNXImportOptions().functionName));

  auto dialects = [registerDialects](DialectRegistry &registry) {
    registry.insert<arith::ArithDialect, func::FuncDialect, onnx::ONNXDialect,
                    squeeze::SqueezeDialect>();
    if (registerDialects)
      registerDialects(registry);
  };

  TranslateToMLIRRegistration importModel(
      "import-onnx", "Import an ONNX model (.onnx, external data by path)",
      [](llvm::SourceMgr &sourceMgr,
         MLIRContext *context) -> OwningOpRef<Operation *> {
        ONNXImportOptions options;
        options.inlineLimitBytes = inlineLimit;
        options.functionName = functionName;
        const llvm::MemoryBuffer *buffer =
            sourceMgr.getMemoryBuffer(sourceMgr.getMainFileID());
        OwningOpRef<ModuleOp> module =
            importONNXBuffer(buffer->getMemBufferRef(), context, options);
        return OwningOpRef<Operation *>(module.release());
      },
      dialects);

  TranslateToMLIRRegistration importTensor(
      "import-onnx-tensor",
      "Import a serialized onnx.TensorProto as a function returning it",
      [](llvm::SourceMgr &sourceMgr,
         MLIRContext *context) -> OwningOpRef<Operation *> {
        const llvm::MemoryBuffer *buffer =
            sourceMgr.getMemoryBuffer(sourceMgr.getMainFileID());
        FailureOr<DenseElementsAttr> value =
            readTensorProtoBuffer(buffer->getMemBufferRef(), context);
        if (failed(value))
          return nullptr;
        context->loadDialect<arith::ArithDialect, func::FuncDialect>();
        OpBuilder builder(context);
        Location loc =
            FileLineColLoc::get(context, buffer->getBufferIdentifier(), 0, 0);
        OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
        builder.setInsertionPointToEnd(module->getBody());
        auto func = func::FuncOp::create(
            builder, loc, functionName,
            builder.getFunctionType({}, {value->getType()}));
        builder.setInsertionPointToEnd(func.addEntryBlock());
        Value constant = arith::ConstantOp::create(builder, loc, *value);
        func::ReturnOp::create(builder, loc, constant);
        return OwningOpRef<Operation *>(module.release());
      },
      dialects);
}
