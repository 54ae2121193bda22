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

    Both exporters' styles are recognized: the dynamo exporter's, and the
    TorchScript exporter's (`Constant` nodes, reshape targets computed by
    `Shape -> Gather -> Unsqueeze -> Concat`, `rsqrt` as `Div(1, Sqrt)`,
    the attention scale computed from `Shape`, Q and K^T scaled before
    their product as in scaled dot-product attention, masks applied by
    `Add` or by `Where`, softmax cast back to its own type, rotary tables
    computed in the graph or stored as `cos_cached`/`sin_cached`). These
    variants are normalized by their own patterns (`ScalarChainToConstant`,
    `IdentityCast`, `DivOneToReciprocal`, `ScaledOperandsToScaledScores`,
    `WhereMaskToAdditive`, `SoftmaxNaNGuard`) into the forms the
    model-level patterns read. Stored rotary tables are read from the IR or
    from the external data file they were imported with.

    With-past graphs (inputs `past_key_values.*` [batch, kv_heads, past,
    head_dim] concatenated with the new keys/values along the sequence and
    returned as `present.*`) are specialized to an empty past: the runtime
    keeps the KV cache (`kv-cache`). Inputs left unread after raising, such
    as the attention mask and position ids, are removed (`prune-inputs`):
    the raised model runs unpadded sequences at consecutive positions.

    Nodes that match no pattern are left as they were and keep running
    through the executor; each gets a remark (residual `Add`s excepted),
    and a summary remark counts what was raised and what was left.
  }];
  let dependentDialects = ["s10::squeeze::SqueezeDialect"];
  let options = [
    Option<"assignRoles", "assign-roles", "bool", /*default=*/"true",
           "Tag linear layers with their decoder block and projection">,
    Option<"remarks", "remarks", "bool", /*default=*/"true",
           "Emit a remark for each node left unraised">,
    Option<"summary", "summary", "bool", /*default=*/"true",
           "Emit a remark counting what was raised and what was left">,
    Option<"kvCache", "kv-cache", "bool", /*default=*/"true",
           "Hand the past/present key-value inputs and outputs of a "
           "with-past graph to the runtime's KV cache">,
    Option<"pruneInputs", "prune-inputs", "bool", /*default=*/"true",
           "Remove inputs nothing reads after raising (attention mask, "
           "position ids)">,
  ];
  let statistics = [
    Statistic<"numLinear", "linear", "Linear layers raised">,
    Statistic<"numRMSNorm", "rms-norm", "RMSNorm chains raised">,
    Statistic<"numAttention", "attention", "Attention blocks raised">,
    Statistic<"numRotary", "rotary", "Rotary embeddings raised">,
    Statistic<"numSwiGLU", "swiglu", "SwiGLU gates raised">,
    Statistic<"numEmbedding", "embedding", "Embeddings raised">,
    Statistic<"numLeft", "left", "ONNX nodes left">,
  ];
}

#endif // S10_CONVERSION_PASSES_TD
