//===- SqueezeBase.td - Squeeze dialect definition ---------*- tablegen -*-===//
//
// The squeeze dialect models a LLaMA-family decoder at the level s10 quantizes
// and compiles it: linear layers with their role, normalization, rotary
// embedding, attention, and quantized weights whose types carry their layout.
//
//===----------------------------------------------------------------------===//

#ifndef S10_DIALECT_SQUEEZE_IR_SQUEEZEBASE_TD
#define S10_DIALECT_SQUEEZE_IR_SQUEEZEBASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"

def Squeeze_Dialect : Dialect {
  let name = "squeeze";
  let cppNamespace = "::s10::squeeze";
  let summary = "Model-level ops and quantized weight types for s10";
  let description = [{
    The `squeeze` dialect is the level at which s10 sees a transformer:
    every decoder linear layer is a `squeeze.linear` (full precision) or a
    `squeeze.quantized_linear` (quantized weight) tagged with its role, and
    the surrounding computation is expressed with a handful of model-level
    ops (`rms_norm`, `rotary`, `attention`, `swiglu`, `embedding`).

    Weights are referenced, not copied: `squeeze.weight` names a tensor
    stored in an external file (for example an ONNX external-data file) by
    offset and length, and is read lazily when a pass or the executor needs
    it. Quantized weights have the type `!squeeze.qweight`, whose scheme
    attribute records bit widths, group size, salient fraction, mask
    granularity and storage layout, so every consumer knows how the bytes
    are laid out without conventions hidden in names.
  }];
  let useDefaultAttributePrinterParser = 1;
  let useDefaultTypePrinterParser = 1;
  let dependentDialects = [];
}

class Squeeze_Op<string mnemonic, list<Trait> traits = []>
    : Op<Squeeze_Dialect, mnemonic, traits>;

#endif // S10_DIALECT_SQUEEZE_IR_SQUEEZEBASE_TD
