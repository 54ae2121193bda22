//===- SqueezeAttrs.td - Squeeze attributes and enums ------*- tablegen -*-===//

#ifndef S10_DIALECT_SQUEEZE_IR_SQUEEZEATTRS_TD
#define S10_DIALECT_SQUEEZE_IR_SQUEEZEATTRS_TD

include "s10/Dialect/Squeeze/IR/SqueezeBase.td"
include "mlir/IR/EnumAttr.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

def Squeeze_LinearKind : I32EnumAttr<"LinearKind", "role of a linear layer", [
  I32EnumAttrCase<"q", 0>, I32EnumAttrCase<"k", 1>, I32EnumAttrCase<"v", 2>,
  I32EnumAttrCase<"o", 3>, I32EnumAttrCase<"gate", 4>, I32EnumAttrCase<"up", 5>,
  I32EnumAttrCase<"down", 6>, I32EnumAttrCase<"lm_head", 7>,
  I32EnumAttrCase<"other", 8>]> {
  let cppNamespace = "::s10::squeeze";
  let genSpecializedAttr = 0;
}

def Squeeze_WeightLayout : I32EnumAttr<"WeightLayout",
    "how a 2-D linear weight is stored", [
  // W[out][in], as PyTorch's nn.Linear stores it.
  I32EnumAttrCase<"out_in", 0>,
  // W^T[in][out], as exporters hand MatMul its constant right operand.
  I32EnumAttrCase<"in_out", 1>]> {
  let cppNamespace = "::s10::squeeze";
  let genSpecializedAttr = 0;
}

def Squeeze_MaskGranularity : I32EnumAttr<"MaskGranularity",
    "unit within which the salient fraction is selected", [
  I32EnumAttrCase<"none", 0>,     // no salient weights
  I32EnumAttrCase<"layer", 1>,    // one threshold per layer (unstructured)
  I32EnumAttrCase<"row", 2>,      // top-r of every output row
  I32EnumAttrCase<"group", 3>,    // top-r of every (row, group)
  I32EnumAttrCase<"channel", 4>,  // whole input channels per row block
  I32EnumAttrCase<"nm", 5>]> {     // k of every M consecutive inputs
  let cppNamespace = "::s10::squeeze";
  let genSpecializedAttr = 0;
}

def Squeeze_StorageLayout : I32EnumAttr<"StorageLayout",
    "byte layout of a quantized weight", [
  // One code per weight (i8), per-group affine parameters in f32, salient
  // mask as one i1 per weight. Executed by dequantizing on the fly.
  I32EnumAttrCase<"unpacked", 0>,
  // Bit-packed codes and compact masks, the layout kernels stream.
  I32EnumAttrCase<"packed", 1>]> {
  let cppNamespace = "::s10::squeeze";
  let genSpecializedAttr = 0;
}

def Squeeze_PackingKind : I32EnumAttr<"PackingKind",
    "byte layout of a packed weight (s10/Quant/Layout.h)", [
  I32EnumAttrCase<"kbit", 0>,       // k-bit codes, (scale, offset) per group
  I32EnumAttrCase<"bitmap", 1>,     // signs, salient bitmap, compact codes
  I32EnumAttrCase<"chanblock", 2>,  // signs, salient channels per row block
  I32EnumAttrCase<"nm", 3>,         // signs, N:M salient indices
  I32EnumAttrCase<"ternary", 4>]> { // codes in [0, 2], five per byte
  let cppNamespace = "::s10::squeeze";
  let genSpecializedAttr = 0;
}

def Squeeze_ParamFormat : I32EnumAttr<"ParamFormat",
    "storage format of the group parameters of a packed weight", [
  I32EnumAttrCase<"f16", 0>,  // fp16 (scale, offset) per group
  I32EnumAttrCase<"q8", 1>,    // fp16 row super-scales, 8-bit codes per group
  I32EnumAttrCase<"q8t", 2>]> { // as q8 with one pair of tensor super-scales
  let cppNamespace = "::s10::squeeze";
  let genSpecializedAttr = 0;
}

class Squeeze_EnumAttr<EnumAttrInfo info, string name>
    : EnumAttr<Squeeze_Dialect, info, name> {
  let assemblyFormat = "`<` $value `>`";
}

def Squeeze_LinearKindAttr : Squeeze_EnumAttr<Squeeze_LinearKind, "kind">;
def Squeeze_WeightLayoutAttr
    : Squeeze_EnumAttr<Squeeze_WeightLayout, "weight_layout">;
def Squeeze_MaskGranularityAttr
    : Squeeze_EnumAttr<Squeeze_MaskGranularity, "mask">;
def Squeeze_StorageLayoutAttr
    : Squeeze_EnumAttr<Squeeze_StorageLayout, "layout">;

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

// An f64 parameter printed as a plain float literal.
def Squeeze_F64Parameter : APFloatParameter<"a double-precision value"> {
  let parser = [{ [&]() -> ::mlir::FailureOr<::llvm::APFloat> {
    double value;
    if ($_parser.parseFloat(value))
      return ::mlir::failure();
    return ::llvm::APFloat(value);
  }() }];
  let printer = [{ $_printer.printFloat($_self) }];
}

class Squeeze_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<Squeeze_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

def Squeeze_RoleAttr : Squeeze_Attr<"Role", "role"> {
  let summary = "Which decoder block and projection a linear layer is";
  let description = [{
    Names a linear layer so that passes and reports can address it:
    `#squeeze.role<block = 3, kind = gate>`. `block` is -1 for layers that
    belong to no decoder block (`lm_head`).
  }];
  let parameters = (ins "int64_t":$block,
                        EnumParameter<Squeeze_LinearKind>:$kind);
  let assemblyFormat = "`<` `block` `=` $block `,` `kind` `=` $kind `>`";
  let genVerifyDecl = 1;
}

def Squeeze_ExternalStorageAttr : Squeeze_Attr<"ExternalStorage", "extern"> {
  let summary = "A byte range of an external file holding a tensor";
  let description = [{
    `#squeeze.extern<"model.onnx.data", offset = 1024, length = 294912>`.
    A relative path is resolved against the directory named by the module's
    `squeeze.weights_dir` attribute (the directory of the imported model).
  }];
  let parameters = (ins StringRefParameter<>:$path, "uint64_t":$offset,
                        "uint64_t":$length);
  let assemblyFormat =
      "`<` $path `,` `offset` `=` $offset `,` `length` `=` $length `>`";
  let genVerifyDecl = 1;
}

def Squeeze_QuantSchemeAttr : Squeeze_Attr<"QuantScheme", "scheme"> {
  let summary = "How the weights of a quantized linear layer are encoded";
  let description = [{
    `bits` is the width of the non-salient codes (1 = binary), `group_size`
    the number of consecutive input channels sharing affine parameters.
    `salient_bits` and `salient_fraction` describe the weights kept at
    higher precision, selected at the given `mask` granularity; a scheme
    without salient weights has `salient_bits = 0`, `salient_fraction = 0`
    and `mask = none`. `layout` names the byte layout of the stored weight.
    `levels` (printed only when set) narrows the codes to `[0, levels)`:
    `bits = 2, levels = 3` is the ternary grid, packed five codes per byte.

    Example (Squeeze10 default):
    `#squeeze.scheme<bits = 1, group_size = 128, salient_bits = 4,
      salient_fraction = 2.000000e-01, mask = layer, layout = unpacked>`
  }];
  let parameters = (ins "unsigned":$bits, "int64_t":$groupSize,
                        "unsigned":$salientBits,
                        Squeeze_F64Parameter:$salientFraction,
                        EnumParameter<Squeeze_MaskGranularity>:$mask,
                        EnumParameter<Squeeze_StorageLayout>:$layout,
                        DefaultValuedParameter<"unsigned", "0">:$levels);
  let assemblyFormat = [{
    `<` `bits` `=` $bits `,` `group_size` `=` $groupSize `,`
        `salient_bits` `=` $salientBits `,`
        `salient_fraction` `=` $salientFraction `,`
        `mask` `=` $mask `,` `layout` `=` $layout
        (`,` `levels` `=` $levels^)? `>`
  }];
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Payload bits per weight: codes only, no parameters or masks
    /// (ternary codes take 1.6 bits: five per byte).
    double getPayloadBitsPerWeight() const {
      double r = getSalientFractionValue();
      double low = getLevels() == 3 ? 1.6 : double(getBits());
      return (1.0 - r) * low + r * getSalientBits();
    }
    double getSalientFractionValue() const {
      return getSalientFraction().convertToDouble();
    }
  }];
}

def Squeeze_PackingAttr : Squeeze_Attr<"Packing", "packing"> {
  let summary = "The byte layout of a packed weight";
  let description = [{
    Names one layout of the layout library (`s10/Quant/Layout.h`,
    `docs/packed-layouts.md`) with the parameters that, together with the
    weight's shape, fix the size and offset of every part:

    - `kind`: `kbit` (codes of `bits` bits), `bitmap` (sign plane, 1-bit
      salient mask, compact salient codes), `chanblock` (salient input
      channels shared by `block` rows), `nm` (`nm_salient` salient weights
      among every `block` consecutive inputs);
    - `group_size`, `salient_bits`, `params` (`f16` or `q8` group
      parameters), `salient` (the number of salient weights).

    ```mlir
    #squeeze.packing<kind = bitmap, bits = 1, group_size = 128,
                     salient_bits = 4, params = f16, salient = 29491>
    ```
  }];
  let parameters = (ins
    EnumParameter<Squeeze_PackingKind>:$kind,
    "unsigned":$bits,
    "int64_t":$group_size,
    DefaultValuedParameter<"unsigned", "0">:$salient_bits,
    DefaultValuedParameter<"::s10::squeeze::ParamFormat",
                           "::s10::squeeze::ParamFormat::f16">:$params,
    DefaultValuedParameter<"int64_t", "0">:$block,
    DefaultValuedParameter<"int64_t", "0">:$nm_salient,
    DefaultValuedParameter<"int64_t", "0">:$salient);
  let assemblyFormat = "`<` struct(params) `>`";
  let extraClassDeclaration = [{
    /// The layout library's description of this layout.
    ::s10::quant::layout::Spec getSpec() const;
    static PackingAttr get(::mlir::MLIRContext *ctx,
                           const ::s10::quant::layout::Spec &spec);
  }];
}

#endif // S10_DIALECT_SQUEEZE_IR_SQUEEZEATTRS_TD
