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
  // What the quantization passes hand each other on the linear ops, each
  // name and type declared once (SqueezeDialect::*AttrHelper).
  let discardableAttrs = (ins
    // squeeze-calibrate: H = (2/N) X^T X (f64 [in, in]) and sampled rows
    // of X (f32 [T, in]) in a side file, and the tokens they saw.
    "::s10::squeeze::ExternalStorageAttr":$hessian,
    "::s10::squeeze::ExternalStorageAttr":$samples,
    "::mlir::IntegerAttr":$calib_tokens,
    // squeeze-quantize-stage1: bits, group size, scales and zero points.
    "::mlir::DictionaryAttr":$stage1,
    // squeeze-select-salient: the i1 [out, in] mask, how it was chosen,
    // and the fraction it stands for.
    "::mlir::DenseElementsAttr":$salient_mask,
    "::mlir::StringAttr":$salient_granularity,
    "::mlir::IntegerAttr":$salient_channel_block,
    "::mlir::FloatAttr":$salient_ratio,
    // squeeze-gptq: what the layer became (salient fraction, payload bits,
    // relative output error, seconds), gathered by squeeze-report.
    "::mlir::DictionaryAttr":$quant_report
  );
  let useDefaultAttributePrinterParser = 1;
  let useDefaultTypePrinterParser = 1;
  let dependentDialects = [];
}

class Squeeze_Op<string mnemonic, list<Trait> traits = []>
    : Op<Squeeze_Dialect, mnemonic, traits>;

#endif // S10_DIALECT_SQUEEZE_IR_SQUEEZEBASE_TD
