//===- Passes.td - s10 conversion passes -------------------*- tablegen -*-===//

#ifndef S10_CONVERSION_PASSES_TD
#define S10_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def RaiseONNXToSqueeze : Pass<"raise-onnx-to-squeeze", "mlir::func::FuncOp"> {
  let summary = "Recognize transformer structure in an imported ONNX graph";
  let description = [{
    Rewrites the node patterns PyTorch-style exporters emit into model-level
    `squeeze` ops: linear layers (`MatMul` with a constant right operand,
    `Gemm` with `transB`), RMSNorm chains, rotate-half rotary embedding,
    causal (grouped-query) attention, SwiGLU, token embedding and the
    `lm_head`. Each linear layer is given its role (decoder block and
    q/k/v/o/gate/up/down) from the surrounding structure.

    Nodes that match no pattern are left as they were and keep running
    through the executor; compute nodes left behind (`MatMul`, `Gemm`,
    `Softmax`) get a remark naming them.
  }];
  let dependentDialects = ["s10::squeeze::SqueezeDialect"];
  let options = [
    Option<"assignRoles", "assign-roles", "bool", /*default=*/"true",
           "Tag linear layers with their decoder block and projection">,
    Option<"remarks", "remarks", "bool", /*default=*/"true",
           "Emit a remark for each compute node left unraised">,
  ];
  let statistics = [
    Statistic<"numLinear", "linear", "Linear layers raised">,
    Statistic<"numRMSNorm", "rms-norm", "RMSNorm chains raised">,
    Statistic<"numAttention", "attention", "Attention blocks raised">,
    Statistic<"numRotary", "rotary", "Rotary embeddings raised">,
    Statistic<"numSwiGLU", "swiglu", "SwiGLU gates raised">,
    Statistic<"numEmbedding", "embedding", "Embeddings raised">,
  ];
}

#endif // S10_CONVERSION_PASSES_TD
