//===- Passes.td - s10 code generation passes --------------*- tablegen -*-===//

#ifndef S10_CODEGEN_PASSES_TD
#define S10_CODEGEN_PASSES_TD

include "mlir/Pass/PassBase.td"

def GenerateKernels : Pass<"squeeze-generate-kernels", "mlir::ModuleOp"> {
  let summary = "Build the CPU or CUDA kernels a model's layers call";
  let description = [{
    Builds one kernel function per distinct (ABI, shape, layout) for the
    layers of the model's functions, in upstream dialects only, so that
    `s10-lower-kernels-to-llvm` and an x86-64 backend can compile them:

    - `squeeze.quantized_linear` of a `squeeze.packed_weight`: a GEMV that
      decodes the packed bytes of its `#squeeze.packing` on the fly;
    - `squeeze.linear` of a dense f16 / f32 constant (`squeeze.weight` or
      `arith.constant`): a dense GEMV in the op's weight layout;
    - `squeeze.rms_norm` (one row of the static last dimension),
      `squeeze.swiglu` and `onnx.node "Add"` of equal shapes: elementwise;
    - `squeeze.embedding` (a constant f16 / f32 table),
      `squeeze.rotary` and causal `squeeze.attention` (on the CPU, the
      queries of one KV head over the runtime's cache).

    For `target=cpu` prefill also gets generated code: each packed linear
    gets the decode kernel of its rows (`s10.decode_kernel`), and a module
    with linears or attention gets the whole table of GEMM micro-kernels
    for `cpu` (blocks of up to 6 rows and 4 vectors of 16 floats with
    AVX-512, 2 vectors of 8 without), listed in the module's
    `s10.gemm_kernels` ({mr, nv, vec, kc, kernels}).

    For `target=cpu` the kernels are `func.func`s in a nested
    `builtin.module @s10_kernels`; for `target=cuda` they are `gpu.func`
    kernels (one warp per GEMV row, shuffles for the sums, see
    `GpuKernelBuilder.h`) in a `gpu.module @s10_kernels`, and the module
    gets `gpu.container_module`; `s10-lower-kernels-to-nvvm` compiles them.

    With `target=cuda` and `fuse` (the default) a decoder's residual adds,
    SwiGLUs and RMSNorms join the GEMVs next to them, so a decode step
    launches fewer kernels:

    - `onnx.node "Add"` of a linear's result (its only use) and another
      value: one GEMV that adds the other value to each row it computes
      (the residual adds after o and down). The Add gets `s10.kernel` and
      `s10.fused_linear` (the index of the linear's operand).
    - `squeeze.swiglu` of two linears of the same input and shape (their
      only uses): one kernel computing both rows and their product (gate,
      up and SwiGLU). The SwiGLU gets `s10.kernel` and
      `s10.fused_linears`.
    - `squeeze.rms_norm` whose every user is a linear GEMV reading it (or
      the gate and up of a fused SwiGLU): each GEMV computes the norm of
      its input row in its own pass over x. Those GEMVs (the linear, or
      the SwiGLU) get `s10.fused_norm`.
    - `squeeze.attention` whose query and key are rotaries' only uses (with
      the same angles): the KV-append kernel rotates q in place and k into
      the cache (`s10.kv_append` names it), and the attention gets
      `s10.fused_rotary`.
    - An attention's q, k and v linears (through q's and k's rotaries),
      each computing the norm of one input (their results' only uses): one
      launch whose grid holds the rows of all three, each stored in its own
      result. The q linear gets `s10.kernel`, `s10.fused_norm` and
      `s10.fused_qkv`; k and v get no kernel.

    With `target=cuda` and `gemm` (the default) every layer whose kernel is
    a GEMV (plain or fused) also gets its prefill twin, named by
    `s10.gemm_kernel`: a GEMM on tensor cores (mma.sync, sm_80 and newer)
    with the same arguments, which decodes each weight once per 32 tokens
    where the GEMV decodes it once per token. Layers the GEMM cannot serve
    (q and k rows not a multiple of 8) keep their GEMV for prefill.

    The absorbed linears, norms and rotaries get no kernel of their own;
    the `.s10` artifact runs the fused op in the place of the Add, SwiGLU,
    linear or attention.

    The kernel module is created if missing and reused if present; each
    layer gets a discardable `s10.kernel` attribute naming its kernel's
    symbol. Layers it cannot serve (a bias, a computed weight,
    broadcasting, dynamic widths) are left alone; a packed weight no kernel
    of the target can decode gets a warning. For `target=cpu`, `cpu`
    decides the GEMV of mixed layouts: masked sums over 16 lanes where it
    has AVX-512, tables of partial sums of x elsewhere.
  }];
  let options = [
    Option<"denseOutIn", "dense-out-in", "bool", /*default=*/"false",
           "Build dense GEMVs for [out, in] storage whatever the op's "
           "weight layout (the .s10 artifact transposes ONNX MatMul weights)">,
    Option<"target", "target", "std::string", /*default=*/"\"cpu\"",
           "Kernels for 'cpu' (func.func, lowered to x86-64) or 'cuda' "
           "(gpu.func, lowered to NVVM)">,
    Option<"cpu", "cpu", "std::string", /*default=*/"\"x86-64-v3\"",
           "target=cpu: the x86-64 CPU the kernels will be compiled for "
           "(an LLVM CPU name or 'native'); with AVX-512 mixed layouts get "
           "masked-sum GEMVs">,
    Option<"fuse", "fuse", "bool", /*default=*/"true",
           "target=cuda: fuse residual adds, SwiGLU and RMSNorm into the "
           "GEMVs next to them, an attention's q, k and v into one launch, "
           "and rotary into the KV append">,
    Option<"gemm", "gemm", "bool", /*default=*/"true",
           "target=cuda: give each GEMV kernel a prefill GEMM twin on "
           "tensor cores (needs sm_80 or newer)">,
  ];
  let dependentDialects = [
    "mlir::arith::ArithDialect", "mlir::func::FuncDialect",
    "mlir::math::MathDialect", "mlir::memref::MemRefDialect",
    "mlir::scf::SCFDialect", "mlir::vector::VectorDialect",
    "mlir::gpu::GPUDialect", "mlir::LLVM::LLVMDialect", "mlir::NVVM::NVVMDialect"
  ];
  let statistics = [
    Statistic<"numKernels", "kernels", "Kernel functions built">,
    Statistic<"numLayers", "layers", "Layers annotated with a kernel">,
    Statistic<"numFused", "fused", "Kernels fused with an add, SwiGLU, RMSNorm, rotary or k and v">,
  ];
}

#endif // S10_CODEGEN_PASSES_TD
