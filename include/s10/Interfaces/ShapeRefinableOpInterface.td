//===- ShapeRefinableOpInterface.td - Ops the shape passes refine ---------===//

#ifndef S10_INTERFACES_SHAPEREFINABLEOPINTERFACE
#define S10_INTERFACES_SHAPEREFINABLEOPINTERFACE

include "mlir/IR/OpBase.td"

def ShapeRefinableOpInterface : OpInterface<"ShapeRefinableOpInterface"> {
  let cppNamespace = "::s10";
  let description = [{
    An op with one tensor result whose shape follows from its operands'
    types, and which accepts operands of more static types than it was
    built with. The ONNX shape passes (`onnx-specialize-shapes`,
    `onnx-fold-shapes`) refine such ops without knowing their dialect.
  }];
  let methods = [
    InterfaceMethod<[{
        The result shape implied by the operands' current types (dynamic
        dimensions as ShapedType::kDynamic), or std::nullopt where the
        operands do not tell.
      }],
      "std::optional<::llvm::SmallVector<int64_t>>", "inferResultShape">,
  ];
}

#endif // S10_INTERFACES_SHAPEREFINABLEOPINTERFACE
