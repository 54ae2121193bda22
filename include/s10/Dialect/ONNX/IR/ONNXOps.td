//===- ONNXOps.td - The imported ONNX graph ----------------*- tablegen -*-===//

#ifndef S10_DIALECT_ONNX_IR_ONNXOPS_TD
#define S10_DIALECT_ONNX_IR_ONNXOPS_TD

include "mlir/IR/OpBase.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def ONNX_Dialect : Dialect {
  let name = "onnx";
  let cppNamespace = "::s10::onnx";
  let summary = "An ONNX graph as imported, one op per node";
  let description = [{
    The import level of s10: every ONNX node becomes one `onnx.node` op that
    keeps the node's operator type, domain, name and attributes verbatim, so
    the importer needs no knowledge of individual operators and nothing is
    lost before s10's own passes (shape specialization, folding, raising to
    the `squeeze` dialect) take over. Operators s10 does not raise keep
    running through the executor, which implements their ONNX semantics.

    ONNX attributes map to MLIR attributes as follows: INT to `i64`, FLOAT
    to `f32`, STRING to a string, INTS to `array<i64: ...>`, FLOATS to
    `array<f32: ...>`, STRINGS to an array of strings, TENSOR to a dense
    elements attribute.
  }];
}

class ONNX_Op<string mnemonic, list<Trait> traits = []>
    : Op<ONNX_Dialect, mnemonic, traits>;

def ONNX_NodeOp : ONNX_Op<"node", [Pure]> {
  let summary = "One ONNX node";
  let description = [{
    ```mlir
    %0 = onnx.node "Transpose"(%x) attrs {perm = array<i64: 0, 2, 1>}
           {name = "node_Transpose_3"} : (tensor<1x?x6xf32>) -> tensor<1x6x?xf32>
    ```
    A missing optional input is an `onnx.none` value. `domain` is absent for
    the default ONNX domain.
  }];
  let arguments = (ins Variadic<AnyType>:$inputs, StrAttr:$op_type,
                       OptionalAttr<StrAttr>:$domain,
                       OptionalAttr<StrAttr>:$name,
                       OptionalAttr<DictionaryAttr>:$attrs);
  let results = (outs Variadic<AnyType>:$outputs);
  let assemblyFormat = [{
    $op_type `(` $inputs `)` (`attrs` $attrs^)? attr-dict `:`
    functional-type($inputs, $outputs)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The node's ONNX attribute `key`, or null.
    ::mlir::Attribute getOnnxAttr(::llvm::StringRef key) {
      return getAttrs() ? getAttrs()->get(key) : ::mlir::Attribute();
    }
    /// An INT attribute, or `fallback` when absent.
    int64_t getIntAttr(::llvm::StringRef key, int64_t fallback);
    /// A FLOAT attribute, or `fallback` when absent.
    double getFloatAttr(::llvm::StringRef key, double fallback);
    /// The node's name, or its operator type when it has none.
    ::llvm::StringRef getDisplayName() {
      return getName() && !getName()->empty() ? *getName() : getOpType();
    }
  }];
}

def ONNX_NoneOp : ONNX_Op<"none", [Pure]> {
  let summary = "Stands for an omitted optional input";
  let results = (outs NoneType:$result);
  let assemblyFormat = "attr-dict";
}

#endif // S10_DIALECT_ONNX_IR_ONNXOPS_TD
