//===- SqueezeTypes.td - Squeeze types ---------------------*- tablegen -*-===//

#ifndef S10_DIALECT_SQUEEZE_IR_SQUEEZETYPES_TD
#define S10_DIALECT_SQUEEZE_IR_SQUEEZETYPES_TD

include "s10/Dialect/Squeeze/IR/SqueezeAttrs.td"
include "mlir/IR/BuiltinTypeInterfaces.td"

class Squeeze_Type<string name, string typeMnemonic, list<Trait> traits = []>
    : TypeDef<Squeeze_Dialect, name, traits> {
  let mnemonic = typeMnemonic;
}

def Squeeze_QWeightType : Squeeze_Type<"QWeight", "qweight"> {
  let summary = "A quantized 2-D linear weight of shape [out, in]";
  let description = [{
    `!squeeze.qweight<384x1024, #squeeze.scheme<...>>` is a weight with 384
    output channels and 1024 input channels, encoded as the scheme says.
    The logical shape is always `[out, in]`, whatever layout the source
    model used.
  }];
  let parameters = (ins "int64_t":$outFeatures, "int64_t":$inFeatures,
                        "QuantSchemeAttr":$scheme);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Number of groups along the input dimension (the last may be short).
    int64_t getNumGroups() const {
      return (getInFeatures() + getScheme().getGroupSize() - 1) /
             getScheme().getGroupSize();
    }
  }];
}

def Squeeze_QWeight : Type<CPred<"::llvm::isa<::s10::squeeze::QWeightType>($_self)">,
    "quantized weight", "::s10::squeeze::QWeightType">;

#endif // S10_DIALECT_SQUEEZE_IR_SQUEEZETYPES_TD
