//===- SqueezeOps.td - Squeeze operations ------------------*- tablegen -*-===//

#ifndef S10_DIALECT_SQUEEZE_IR_SQUEEZEOPS_TD
#define S10_DIALECT_SQUEEZE_IR_SQUEEZEOPS_TD

include "s10/Dialect/Squeeze/IR/SqueezeTypes.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"
include "s10/Interfaces/ShapeRefinableOpInterface.td"

def Squeeze_FloatTensor : RankedTensorOf<[AnyFloat]>;
def Squeeze_Float2DTensor : 2DTensorOf<[AnyFloat]>;

//===----------------------------------------------------------------------===//
// Weights
//===----------------------------------------------------------------------===//

def Squeeze_WeightOp : Squeeze_Op<"weight", [Pure]> {
  let summary = "A constant tensor read from external storage";
  let description = [{
    Refers to a tensor stored in a file instead of copying it into the IR,
    so that a model of any size costs the same few bytes of IR per weight.
    The byte length must equal the element count times the element size.

    ```mlir
    %w = squeeze.weight "val_88" {storage = #squeeze.extern<"model.onnx.data",
           offset = 0, length = 294912>} : tensor<384x384xf16>
    ```
  }];
  let arguments = (ins StrAttr:$name, Squeeze_ExternalStorageAttr:$storage);
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = "$name attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def Squeeze_QuantizedWeightOp : Squeeze_Op<"quantized_weight", [Pure]> {
  let summary = "A quantized weight in the unpacked layout";
  let description = [{
    Materializes a `!squeeze.qweight` from per-weight codes and per-group
    affine parameters. A weight (i, j) in group g = j / group_size
    dequantizes to `scales[i, g] * codes[i, j] + offsets[i, g]`, or, if it
    is salient (`salient_mask[i, j]` set), to
    `salient_scales[i, g] * codes[i, j] + salient_offsets[i, g]`.

    The affine form covers both encodings the scheme uses: a k-bit
    asymmetric code `s (q - z)` has scale `s` and offset `-s z`, a binary
    code `alpha sign(w - mu) + mu` has scale `2 alpha` and offset
    `mu - alpha` with q in {0, 1}.
  }];
  let arguments = (ins ElementsAttr:$codes, ElementsAttr:$scales,
                       ElementsAttr:$offsets,
                       OptionalAttr<ElementsAttr>:$salient_mask,
                       OptionalAttr<ElementsAttr>:$salient_scales,
                       OptionalAttr<ElementsAttr>:$salient_offsets);
  let results = (outs Squeeze_QWeight:$result);
  let assemblyFormat = "attr-dict `:` qualified(type($result))";
  let hasVerifier = 1;
}

def Squeeze_PackedWeightOp : Squeeze_Op<"packed_weight", [Pure]> {
  let summary = "A quantized weight as the bytes a kernel streams";
  let description = [{
    `data` holds the packed bytes (an i8 `dense_resource` blob, carried raw
    in bytecode) in the layout `packing` names; the result type's scheme
    has `layout = packed`. The verifier checks that the layout matches the
    scheme (bits, group size, salient bits, mask granularity) and that the
    blob has exactly the bytes the layout needs for the weight's shape; the
    contents (padding, salient counts and offsets, finite parameters) are
    checked by `squeeze-verify-weights` and by every reader before use.

    ```mlir
    %w = squeeze.packed_weight {
           packing = #squeeze.packing<kind = kbit, bits = 2, group_size = 128>,
           data = dense_resource<b0.q> : tensor<37888xi8>}
         : !squeeze.qweight<384x384, #squeeze.scheme<bits = 2, ..., layout = packed>>
    ```
  }];
  let arguments = (ins Squeeze_PackingAttr:$packing, ElementsAttr:$data);
  let results = (outs Squeeze_QWeight:$result);
  let assemblyFormat = "attr-dict `:` qualified(type($result))";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The packed bytes; empty if the blob is missing.
    ::llvm::ArrayRef<char> getBytes();
  }];
}

//===----------------------------------------------------------------------===//
// Linear layers
//===----------------------------------------------------------------------===//

def Squeeze_LinearOp : Squeeze_Op<"linear", [Pure,
    DeclareOpInterfaceMethods<ShapeRefinableOpInterface>]> {
  let summary = "A full-precision linear layer, Y = X W^T (+ bias)";
  let description = [{
    `input` has shape `[..., in]`, the result `[..., out]`. The weight is
    2-D and stored as `weight_layout` says: `out_in` (`[out, in]`) or
    `in_out` (`[in, out]`, as ONNX exporters emit it). The optional `role`
    names the layer.

    ```mlir
    %y = squeeze.linear %x, %w {weight_layout = #squeeze.weight_layout<in_out>,
           role = #squeeze.role<block = 0, kind = q>}
         : (tensor<1x?x384xf32>, tensor<384x384xf16>) -> tensor<1x?x384xf32>
    ```
  }];
  let arguments = (ins Squeeze_FloatTensor:$input,
                       Squeeze_Float2DTensor:$weight,
                       Optional<Squeeze_FloatTensor>:$bias,
                       Squeeze_WeightLayoutAttr:$weight_layout,
                       OptionalAttr<Squeeze_RoleAttr>:$role);
  let results = (outs Squeeze_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    int64_t getInFeatures();
    int64_t getOutFeatures();
  }];
}

def Squeeze_QuantizedLinearOp : Squeeze_Op<"quantized_linear", [Pure,
    DeclareOpInterfaceMethods<ShapeRefinableOpInterface>]> {
  let summary = "A linear layer whose weight is quantized";
  let description = [{
    Same contract as `squeeze.linear`, with a `!squeeze.qweight` operand of
    logical shape `[out, in]`.

    ```mlir
    %y = squeeze.quantized_linear %x, %qw {role = #squeeze.role<block = 0, kind = q>}
         : (tensor<1x?x384xf32>, !squeeze.qweight<384x384, #squeeze.scheme<...>>)
           -> tensor<1x?x384xf32>
    ```
  }];
  let arguments = (ins Squeeze_FloatTensor:$input, Squeeze_QWeight:$weight,
                       Optional<Squeeze_FloatTensor>:$bias,
                       OptionalAttr<Squeeze_RoleAttr>:$role);
  let results = (outs Squeeze_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Transformer building blocks
//===----------------------------------------------------------------------===//

def Squeeze_EmbeddingOp : Squeeze_Op<"embedding", [Pure,
    DeclareOpInterfaceMethods<ShapeRefinableOpInterface>]> {
  let summary = "Token embedding lookup";
  let description = [{
    `result[..., :] = table[ids[...], :]`; `table` is `[vocab, hidden]`.
  }];
  let arguments = (ins RankedTensorOf<[AnySignlessInteger]>:$ids,
                       Squeeze_Float2DTensor:$table);
  let results = (outs Squeeze_FloatTensor:$result);
  let assemblyFormat =
      "$ids `,` $table attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Squeeze_RMSNormOp : Squeeze_Op<"rms_norm", [Pure,
    DeclareOpInterfaceMethods<ShapeRefinableOpInterface>]> {
  let summary = "RMS normalization over the last dimension";
  let description = [{
    `y = x / sqrt(mean(x^2) + epsilon) * weight`, computed in at least f32.
  }];
  let arguments = (ins Squeeze_FloatTensor:$input,
                       1DTensorOf<[AnyFloat]>:$weight, F64Attr:$epsilon);
  let results = (outs Squeeze_FloatTensor:$result);
  let assemblyFormat =
      "$input `,` $weight attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Squeeze_RotaryOp : Squeeze_Op<"rotary", [Pure,
    DeclareOpInterfaceMethods<ShapeRefinableOpInterface>]> {
  let summary = "Rotary position embedding (rotate-half convention)";
  let description = [{
    `input` is `[batch, seq, num_heads * head_dim]` (or `[seq, ...]` without
    a batch dimension). For head h, position p
    (counted from the start of the sequence, including cached positions) and
    i < head_dim / 2, with `f = theta^(-2i / head_dim)`:
    `y[i] = x[i] cos(p f) - x[i + d/2] sin(p f)`,
    `y[i + d/2] = x[i + d/2] cos(p f) + x[i] sin(p f)`.
  }];
  let arguments = (ins Squeeze_FloatTensor:$input, I64Attr:$num_heads,
                       I64Attr:$head_dim, F64Attr:$theta);
  let results = (outs Squeeze_FloatTensor:$result);
  let assemblyFormat =
      "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Squeeze_AttentionOp : Squeeze_Op<"attention", [Pure,
    DeclareOpInterfaceMethods<ShapeRefinableOpInterface>]> {
  let summary = "Scaled dot-product attention with grouped KV heads";
  let description = [{
    `query` is `[batch, seq, num_heads * head_dim]`, `key` and `value` are
    `[batch, kv_seq, num_kv_heads * head_dim]` (all three may also come
    without the batch dimension); query head h reads KV head
    `h / (num_heads / num_kv_heads)`. With `causal`, query position t
    attends to key positions up to t (offset by cached positions). Scores
    are multiplied by `scale` before the softmax.
  }];
  let arguments = (ins Squeeze_FloatTensor:$query, Squeeze_FloatTensor:$key,
                       Squeeze_FloatTensor:$value, I64Attr:$num_heads,
                       I64Attr:$num_kv_heads, I64Attr:$head_dim,
                       F64Attr:$scale, UnitAttr:$causal);
  let results = (outs Squeeze_FloatTensor:$result);
  let assemblyFormat = [{
    $query `,` $key `,` $value attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Squeeze_SwiGLUOp : Squeeze_Op<"swiglu", [Pure,
    DeclareOpInterfaceMethods<ShapeRefinableOpInterface>]> {
  let summary = "SwiGLU gating: silu(gate) * up";
  let arguments = (ins Squeeze_FloatTensor:$gate, Squeeze_FloatTensor:$up);
  let results = (outs Squeeze_FloatTensor:$result);
  let assemblyFormat =
      "$gate `,` $up attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

#endif // S10_DIALECT_SQUEEZE_IR_SQUEEZEOPS_TD
