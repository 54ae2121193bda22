//===- Passes.td - ONNX-level passes -----------------------*- tablegen -*-===//

#ifndef S10_DIALECT_ONNX_TRANSFORMS_PASSES_TD
#define S10_DIALECT_ONNX_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def ONNXSpecializeShapes
    : Pass<"onnx-specialize-shapes", "mlir::func::FuncOp"> {
  let summary = "Fix dynamic dimensions and propagate static shapes";
  let description = [{
    Exported LLaMA graphs have symbolic dimensions (`batch`, `seq`, ...) on
    their inputs and `?` in almost every intermediate type. Kernels,
    folding and raising all work better on static shapes, so this pass
    binds named dimensions to sizes, rewrites the function signature and
    then refines the result types of the nodes forward through the function
    with a small shape inference.

    Dimension names come from what the importer records:
    - the argument attribute `onnx.dim_params`: an array with one string
      per dimension of that argument, the ONNX `dim_param` or `""` for a
      dimension without a name (the same attribute on function results is
      checked and updated as well);
    - a function attribute `onnx.dim_params`: either the flat list of all
      names (what the importer writes) or, tolerated as an alternative, an
      array holding one such per-argument array per argument, used for
      arguments without their own attribute.
    Elements that are not strings are treated as unnamed. Bound names are
    cleared from these attributes and the bindings are recorded in the
    function attribute `onnx.specialized_dims` (`{seq = 8 : i64}`).

    Shape inference covers the operators exporters emit: numpy-broadcast
    elementwise operators, unary operators, `Cast`, `Softmax`, `MatMul`,
    `Gemm`, `Transpose`, `Reshape` (with `0`, `-1` and `allowzero`),
    `Squeeze`/`Unsqueeze`, `Concat`, `Slice`, `Gather`, `GatherElements`,
    `GatherND`, `Expand`, `Reduce*`, `ArgMax`/`ArgMin`, `Range`, `Shape`,
    `Size`, `ConstantOfShape`, `CumSum`, `Tile`, `Flatten`, `Split`,
    `LayerNormalization`, `Trilu`, `Where`, and ops of other dialects that
    implement `ShapeRefinableOpInterface` (the `squeeze` ops). The
    values of small integer shape tensors (`Shape`, `Gather`, `Concat`,
    arithmetic on them, ...) are tracked element by element, so a `Reshape`
    whose target shape is computed from `Shape` is refined as well.

    The pass only refines: a `?` becomes a static size, an unranked tensor
    becomes ranked. Inferred information that contradicts a static
    dimension is an error naming the node. Nodes it cannot infer keep their
    types. Function result types follow the returned values.

    Options:
    - `dims`: `name=value` bindings, e.g. `dims=seq=512,batch=1`. Every
      name must be a recorded dimension name of the function.
    - `arg-dims`: `arg:dim=value` bindings by position, e.g. `0:1=512`
      (argument 0, dimension 1), for functions without recorded names. On
      a named dimension it binds the name, wherever it appears.
    Without options the pass only propagates the shapes already known.
  }];
  let options = [
    ListOption<"dims", "dims", "std::string",
               "Named dimension bindings NAME=VALUE (comma separated)">,
    ListOption<"argDims", "arg-dims", "std::string",
               "Positional dimension bindings ARG:DIM=VALUE (comma "
               "separated)">,
  ];
  let statistics = [
    Statistic<"numRefined", "refined", "Result types refined">,
  ];
}

def ONNXFoldShapes : Pass<"onnx-fold-shapes", "mlir::func::FuncOp"> {
  let summary = "Fold the shape computations of an ONNX graph to constants";
  let description = [{
    Exporters compute reshape targets, ranges and masks at run time from
    `Shape` nodes. Once shapes are static (see `onnx-specialize-shapes`)
    these sub-graphs are constant; folding them leaves kernels and the
    raising patterns constant shapes and removes a host of tiny nodes.

    A `Shape` node whose selected dimensions are static becomes an `i64`
    `arith.constant`; `Gather` and `Slice` also pick the static entries out
    of a `Shape` whose other dimensions are dynamic (a dynamic batch does
    not keep the sequence length from folding). A node among `Shape`, `Size`, `Squeeze`, `Unsqueeze`,
    `Concat`, `Gather`, `GatherND`, `Slice`, `Cast`, `Add`, `Sub`, `Mul`, `Div`,
    `Neg`, `Abs`, `Equal`, `Not`, `And`, `Or`, `Xor`, `Where`, `Range`,
    `Reshape`, `Expand`, `ConstantOfShape`, `Identity`, `Max`, `Min`,
    `CumSum`, `Less`, `LessOrEqual`, `Greater` and `GreaterOrEqual` whose
    inputs are all `arith.constant`s (integer or bool tensors of at most
    `max-elements` elements, or float scalars) is evaluated with ONNX
    semantics (integer arithmetic in 64 bits wrapped to the result type,
    `Div` truncating) and replaced by an `arith.constant`, unless its result
    would have more than `max-elements` elements: a causal mask must not
    turn into a sequence-squared constant. Boolean results of rank 2 or more
    are masks rather than shape arithmetic and are not folded either (unless
    `fold-masks`): `raise-onnx-to-squeeze` recognizes a causal mask by the
    comparison that builds it, even for a sequence short enough for the
    mask to fit in `max-elements`. Folding runs to a fixpoint; dead pure
    operations are erased afterwards.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect"];
  let options = [
    Option<"maxElements", "max-elements", "int64_t", /*default=*/"64",
           "Largest constant (in elements) a fold may create or read">,
    Option<"foldMasks", "fold-masks", "bool", /*default=*/"false",
           "Also fold boolean results of rank >= 2 (attention masks)">,
  ];
  let statistics = [
    Statistic<"numFolded", "folded", "Nodes folded to constants">,
    Statistic<"numErased", "erased", "Dead operations erased">,
  ];
}

#endif // S10_DIALECT_ONNX_TRANSFORMS_PASSES_TD
