//===- Passes.td - Squeeze quantization passes -------------*- tablegen -*-===//

#ifndef S10_DIALECT_SQUEEZE_TRANSFORMS_PASSES_TD
#define S10_DIALECT_SQUEEZE_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

//===----------------------------------------------------------------------===//
// Options shared by the small passes and squeeze10-quantize: each is declared
// once here, so a default is the same wherever the option appears.
//===----------------------------------------------------------------------===//

defvar TokenizerOpt = Option<"tokenizer", "tokenizer", "std::string", "\"\"",
    "SentencePiece model (default: tokenizer.model beside the weights)">;
defvar NSamplesOpt = Option<"nsamples", "nsamples", "int64_t", "128",
    "Calibration windows">;
defvar SeqLenOpt = Option<"seqlen", "seqlen", "int64_t", "512",
    "Tokens per calibration window">;
defvar SeedOpt = Option<"seed", "seed", "uint64_t", "0",
    "Seed for calibration window and token sampling">;
defvar PbarTokensOpt = Option<"pbarTokens", "pbar-tokens", "int64_t", "256",
    "Activation rows kept per layer for PBAR's range term">;
defvar ThreadsOpt = Option<"threads", "threads", "int", "0",
    "Executor threads, at most 256 (0: all cores)">;
defvar BitsOpt = Option<"bits", "bits", "unsigned", "4",
    "Salient (stage-1) bits; the bit width for gptq and rtn">;
defvar GroupSizeOpt = Option<"groupSize", "group-size", "int64_t", "128",
    "Input channels per quantization group">;
defvar RatioOpt = Option<"ratio", "ratio", "double", "0.2",
    "Salient fraction r">;
defvar GranularityOpt = Option<"granularity", "granularity", "std::string",
    "\"layer\"", "Salient mask granularity: layer | row | group | channel | nm">;
defvar ChannelBlockOpt = Option<"channelBlock", "channel-block", "int64_t", "0",
    "Rows per block for channel granularity (0: all rows)">;
defvar NmBlockOpt = Option<"nmBlock", "nm-block", "int64_t", "8",
    "M for nm granularity: round(ratio M) salient of every M inputs">;
defvar LambdaOpt = Option<"lambda", "lambda", "double", "3e-4",
    "PBAR lambda, the weight of the range term B">;
defvar NormalizeOpt = Option<"normalize", "normalize", "bool", "false",
    "Divide V and B by their layer means (scale-free lambda)">;
defvar PbarOpt = Option<"pbar", "pbar", "bool", "true",
    "Use PBAR's range term B (off: M = V)">;
defvar RangeDeltaOpt = Option<"rangeDelta", "range-delta", "bool", "true",
    "B is |range - the row's unperturbed output range| (false: Eq. 7's B)">;
defvar DiagOpt = Option<"diag", "diag", "std::string", "\"chol\"",
    "V's denominator: chol (diag of chol(H^-1)) | hinv (diag of H^-1, Eq. 5)">;
defvar StagedOpt = Option<"staged", "staged", "bool", "true",
    "Score the stage-1 weight (off: the full-precision weight)">;
defvar PercdampOpt = Option<"percdamp", "percdamp", "double", "0.01",
    "Hessian damping (fraction of the mean diagonal)">;
defvar HessianF32FromOpt = Option<"hessianF32From", "hessian-f32-from",
    "int64_t", "16384",
    "Layers with at least this many inputs hold H and its factor in f32, as "
    "GPTQ's reference does: half the memory (3.3 GB rather than 6.6 GB at "
    "28672 inputs); 0: never">;
defvar BlockSizeOpt = Option<"blockSize", "block-size", "int64_t", "128",
    "GPTQ lazy batch size">;
defvar ActOrderOpt = Option<"actOrder", "act-order", "bool", "false",
    "GPTQ act-order: columns by descending Hessian diagonal">;
defvar ClipNormOpt = Option<"clipNorm", "clip-norm", "double", "0",
    "k-bit group ranges by search: shrink [min, max] toward zero (factors 1 "
    "to 0.21) and keep the fit with the least sum of |w - q|^clip-norm over "
    "the group (GPTQ's reference uses 2.4); for squeeze10 and pbllm, stage "
    "1's ranges, which the salient codes use; 0: min-max">;
defvar RefitBinaryOpt = Option<"refitBinary", "refit-binary", "bool", "true",
    "Fit alpha/mu of each binary group from the error-updated weights">;
defvar RoleRatioOpt = ListOption<"roleRatio", "role-ratio", "std::string",
    "Salient fraction by role, kind[.block]:ratio (e.g. v:0.25,down.0:0.25; "
    "kinds q k v o gate up down); other layers take ratio">;
defvar TernaryOpt = Option<"ternary", "ternary", "bool", "false",
    "k-bit methods: layers at 2 bits take three levels per group (codes 0, "
    "1, 2), packed five per byte in the ternary layout: 1.6 bits per weight "
    "rather than 2">;
defvar RoleBitsOpt = ListOption<"roleBits", "role-bits", "std::string",
    "Code bits by role, kind[.block]:bits (e.g. v:3,down.0:3); other layers "
    "take bits (k-bit methods)">;
defvar RoleGroupSizeOpt = ListOption<"roleGroupSize", "role-group-size",
    "std::string",
    "Group size by role, kind[.block]:size (e.g. v:64); other layers take "
    "group-size (k-bit methods)">;
defvar OutputRefitOpt = Option<"outputRefit", "output-refit", "bool", "false",
    "After GPTQ, refit each row's group parameters (codes kept) to minimise "
    "the output error (w - w^)^T H (w - w^); layers with hessian-f32-from "
    "inputs or more keep GPTQ's">;
defvar RefitRoundsOpt = Option<"refitRounds", "refit-rounds", "int64_t", "1",
    "With output-refit: rounds of GPTQ and refit; each round after the "
    "first runs GPTQ again with the previous round's refit parameters fixed">;
defvar LayoutOpt = Option<"layout", "layout", "std::string", "\"auto\"",
    "Packed layout: auto | kbit | ternary | bitmap | chanblock | nm">;
defvar ParamsOpt = Option<"params", "params", "std::string", "\"f16\"",
    "Packed group parameter format: f16 | q8 (row super-scales) | q8t "
    "(tensor super-scales)">;

def SqueezeRotate : Pass<"squeeze-rotate", "mlir::ModuleOp"> {
  let summary = "Rotate the residual stream and the value heads, for "
                "incoherent weights";
  let description = [{
    An orthogonal change of basis Q of the residual stream leaves a LLaMA
    model's function unchanged (RMSNorm only sees the norm of its input),
    yet spreads every outlier channel over all channels, so the weights
    that read or write the stream quantize with less error. The pass folds
    each RMSNorm scale g into the linears it feeds and rewrites
    `W -> Q^T diag(g) W` for the readers (q, k, v, gate, up, lm_head),
    `W -> W Q` for the writers (o, down) and `E -> E Q` for the embedding;
    the RMSNorm scales become 1. With `heads=true` each value head is
    rotated too (`W_v -> W_v H`, `W_o -> H^T W_o` per head), which the
    attention's weighted sum commutes with. Q and H are random Hadamard
    rotations (`s10/Quant/Rotation.h`) drawn from `seed`; nothing changes at
    run time, no op is added.

    Run it on a full-precision model before quantization: the rotated
    weights replace the originals as `dense_resource` constants in their
    element type. A residual stream used by anything but RMSNorm and the
    residual additions, a norm feeding anything but linears, or weights
    that are not constants is an error naming the op.
  }];
  let options = [
    Option<"seed", "seed", "uint64_t", "0", "Seed of the random rotations">,
    Option<"heads", "heads", "bool", "true",
           "Also rotate every value head (v and o projections)">,
  ];
}

def SqueezeCalibrate : Pass<"squeeze-calibrate", "mlir::ModuleOp"> {
  let summary = "Collect layer Hessians and activation samples by running the model";
  let description = [{
    Runs the model on `nsamples` windows of `seqlen` tokens drawn with a
    fixed seed from a text file (tokenized line by line with the model's
    tokenizer) and, for every decoder linear layer, accumulates
    `H = (2/N) X^T X` over its inputs X and keeps `pbar-tokens` sampled rows
    of X for PBAR's range term. Layers reading the same activation share one
    Hessian. Results go to a binary side file and are referenced from each
    layer with `squeeze.hessian` (f64 [in, in]) and `squeeze.samples`
    (f32 [T, in]) `#squeeze.extern` attributes, plus `squeeze.calib_tokens`.

    With `sequential`, only the first decoder block that still has
    full-precision linear layers is calibrated, with activations flowing
    through the blocks already quantized (GPTQ's usual practice; the "-FIAS"
    ablation). Otherwise every layer sees the full-precision model (FIAS).

    With `split` (the default), the model function is cut wherever a single
    value (the residual stream) flows on, and every window goes through one
    piece before the next starts: memory holds one piece's weights, the
    activations at its boundary for all windows, and the statistics of its
    layers, whatever the number of blocks. The statistics are the same,
    bit for bit, as those of whole-model runs (`split=false`). Pieces after
    the last calibrated layer are not run.
  }];
  let options = [
    Option<"calibFile", "calib-file", "std::string", "\"\"",
           "Text file to draw calibration windows from (a .ids file holds "
           "token ids instead, for models without a SentencePiece "
           "tokenizer)">,
    TokenizerOpt,
    NSamplesOpt,
    SeqLenOpt,
    SeedOpt,
    PbarTokensOpt,
    Option<"store", "store", "std::string", "\"\"",
           "Side file for Hessians and samples (default: a temporary file)">,
    Option<"sequential", "sequential", "bool", "false",
           "Calibrate only the first unquantized block, through quantized ones">,
    Option<"shards", "shards", "int64_t", "1",
           "Calibrate every shards-th decoder layer only (see shard)">,
    Option<"shard", "shard", "int64_t", "0",
           "Which layers: those k (module order) with k mod shards = shard">,
    Option<"split", "split", "bool", "true",
           "Run the model piece by piece, between residual-stream cuts">,
    ThreadsOpt,
  ];
}

def SqueezeQuantizeStage1 : Pass<"squeeze-quantize-stage1", "mlir::func::FuncOp"> {
  let summary = "Stage 1: intermediate k-bit asymmetric group quantization";
  let description = [{
    Quantizes every decoder linear weight to `bits`-bit asymmetric codes per
    (row, group of `group-size` input channels) and records the result on
    the layer as `squeeze.stage1` (bits, group size, scales, zero points;
    the codes follow from the weight and are recomputed where needed, so a
    large model does not carry a byte per weight until packing). Later
    passes compute salience on the dequantized weight and keep the k-bit
    codes of salient weights. The layer itself is unchanged.
  }];
  let options = [
    BitsOpt,
    GroupSizeOpt,
    ClipNormOpt,
  ];
}

def SqueezeSelectSalient : Pass<"squeeze-select-salient", "mlir::func::FuncOp"> {
  let summary = "PBAR salience and the salient mask";
  let description = [{
    Scores every weight with `M = V + lambda B` (paper Eq. 5 and 7): V from
    the stage-1 weight and the diagonal of the inverse Hessian, B the range
    of the layer's output channel over the sampled tokens when only that
    weight is binarized. The top `ratio` of M, selected per layer, row,
    group or whole input channel, becomes `squeeze.salient_mask`.
  }];
  let options = [
    RatioOpt,
    RoleRatioOpt,
    GranularityOpt,
    ChannelBlockOpt,
    NmBlockOpt,
    LambdaOpt,
    NormalizeOpt,
    PbarOpt,
    RangeDeltaOpt,
    DiagOpt,
    StagedOpt,
    GroupSizeOpt,
    PercdampOpt,
    HessianF32FromOpt,
  ];
}

def SqueezeGPTQ : Pass<"squeeze-gptq", "mlir::func::FuncOp"> {
  let summary = "Quantize linear layers with GPTQ error compensation";
  let description = [{
    Replaces every calibrated decoder `squeeze.linear` by a
    `squeeze.quantized_linear` whose weight is a `squeeze.quantized_weight`.
    Modes:
    - `mixed` (Squeeze10, PB-LLM): salient weights keep their stage-1
      k-bit code, the others become `alpha sign(w - mu) + mu` per (row,
      group), with GPTQ propagating every column's error.
    - `kbit`: GPTQ at `bits` per group of `group-size`.
    - `rtn`: round to nearest at `bits`, no calibration needed.
    - `binary`: `alpha sign(w - mu) + mu` per (row, group), no calibration.
    A line per layer (shape, salient fraction, payload bits per weight,
    relative output error on the calibration data, time) goes to stderr,
    and the same numbers stay on the new op as `squeeze.quant_report` for
    `squeeze-report`, which gathers them for the whole module.
  }];
  let options = [
    Option<"modeName", "mode", "std::string", "\"mixed\"", "mixed | kbit | rtn | binary">,
    BitsOpt,
    GroupSizeOpt,
    RoleBitsOpt,
    RoleGroupSizeOpt,
    TernaryOpt,
    ClipNormOpt,
    BlockSizeOpt,
    PercdampOpt,
    HessianF32FromOpt,
    ActOrderOpt,
    RefitBinaryOpt,
    OutputRefitOpt,
    RefitRoundsOpt,
    Option<"quiet", "quiet", "bool", "false", "No per-layer table on stderr">,
  ];
}

def SqueezeReport : Pass<"squeeze-report", "mlir::ModuleOp"> {
  let summary = "Gather the per-layer quantization records of a module";
  let description = [{
    Reads the `squeeze.quant_report` record `squeeze-gptq` leaves on every
    quantized linear, in module order, prints the total (layers, weights,
    weight-weighted payload bits per weight) and, with `report`, writes them
    as a JSON file (`squeeze-pack` later adds the packed bytes and true bits
    to the same file). The records are removed unless `keep`. Running at
    module level, after every function is quantized, it sees each layer
    once whatever the pass threading.
  }];
  let options = [
    Option<"report", "report", "std::string", "\"\"", "JSON report file">,
    Option<"keep", "keep", "bool", "false",
           "Leave the records on the ops">,
    Option<"quiet", "quiet", "bool", "false", "No summary on stderr">,
  ];
}
def SqueezePack : Pass<"squeeze-pack", "mlir::ModuleOp"> {
  let summary = "Pack quantized weights into the bytes a kernel streams";
  let description = [{
    Replaces every `squeeze.quantized_weight` (one code per weight, f32
    parameters) by a `squeeze.packed_weight` whose bytes, in a layout of the
    layout library (`docs/packed-layouts.md`), are an i8 `dense_resource`
    blob. Codes and masks are stored losslessly; group parameters are
    rounded to the `params` format. `layout=auto` picks `kbit` for weights
    without salient weights, `chanblock` for channel masks, `nm` for N:M
    masks and `bitmap` otherwise.

    Prints, per layer and in total, the packed bytes and the true bits per
    weight counted from them (bytes x 8 / weights), next to the payload bits
    of the codes alone; `report` adds them to a JSON file (merging into the
    layers of an existing quantization report).
  }];
  let options = [
    LayoutOpt,
    ParamsOpt,
    Option<"block", "block", "int64_t", "0",
           "chanblock: rows per block; nm: M (0: detect from the mask)">,
    Option<"report", "report", "std::string", "\"\"",
           "JSON report to write or extend">,
    Option<"quiet", "quiet", "bool", "false", "No per-layer lines on stderr">,
  ];
}

def SqueezeUnpack : Pass<"squeeze-unpack", "mlir::ModuleOp"> {
  let summary = "Turn packed weights back into unpacked codes, for inspection";
  let description = [{
    Replaces every `squeeze.packed_weight` by the `squeeze.quantized_weight`
    it encodes (codes, mask, f32 group parameters as stored). Packing the
    result again gives the same bytes. Bytes that fail validation are an
    error naming the weight.
  }];
}

def SqueezeVerifyWeights : Pass<"squeeze-verify-weights", "mlir::ModuleOp"> {
  let summary = "Check the contents of quantized and packed weights";
  let description = [{
    Checks what the op verifiers do not read: codes in range for their bit
    width, finite group parameters, salient counts against the type's
    salient fraction, and for packed weights every byte (padding, salient
    offsets, N:M indices, parameter codes) as the layout library validates
    them. Fails naming the layer and the problem.
  }];
}

def Squeeze10Quantize : Pass<"squeeze10-quantize", "mlir::ModuleOp"> {
  let summary = "The Squeeze10 quantization recipe and its baselines";
  let description = [{
    Strings the small passes together: `squeeze-calibrate`,
    `squeeze-quantize-stage1`, `squeeze-select-salient` and `squeeze-gptq`
    for Squeeze10 (staged 4-bit -> 1-bit, PBAR, FIAS, GPTQ compensation);
    the same harness runs the baselines: `method=rtn`, `method=binary`
    (mean-shifted binarization per group, no calibration), `method=gptq` and
    `method=pbllm` (salient weights by the Hessian criterion on W, kept at
    `bits`, the rest binarized with GPTQ feedback). With `fias=false` the
    decoder blocks are calibrated and quantized one after another, each
    seeing the already-quantized blocks before it. The ablations of the
    paper are `pbar=false`, `fias=false` and `staged=false`.

    Two defaults differ from the paper's literal formulas because they
    measured better on the bundled model (docs/quantization-results.md):
    V divides by the diagonal of chol(H^-1) (`diag=chol`, as PB-LLM) and
    the range term is the change of the output range (`range-delta=true`).
    `diag=hinv range-delta=false` gives Eq. 5 and Eq. 7 as printed.

    `rotate=true` runs `squeeze-rotate` first (with `seed`): every weight
    is quantized in a random orthogonal basis that spreads outlier channels,
    at no cost at run time.

    `budget=B` asks for a size instead of a configuration: it picks the
    named recipe that measured best on the bundled model at or under `B`
    true bits per weight (docs/quantization.md, "Recipes by budget") and
    sets its method, salience, layout and parameter format; the options it
    sets cannot be given beside it.

    Without any option that shapes the result (method, bits, group sizes,
    salience, refit, layout, parameters), the pass runs the default recipe
    (`budget=auto`): the best configuration measured at the size of the
    paper's default layout, GPTQ 3-bit with groups of 256, act-order,
    clipped group ranges (`clip-norm=2`), q8 parameters and three rounds of
    output refit (35.22 perplexity at 3.148 true bits on the bundled model,
    where `method=squeeze10` gives 37.51 at 3.171). Any such option, or `budget=none`, configures by hand from the
    defaults listed below (`method=squeeze10`).
  }];
  let options = [
    Option<"budget", "budget", "std::string", "\"auto\"",
           "True bits per weight at most (e.g. 2.25, 2.5, 3.1): the best "
           "named recipe at or under it; auto: the default recipe unless an "
           "option shapes the result; none: the options as given">,
    Option<"rotate", "rotate", "bool", "false",
           "First rotate the residual stream and value heads "
           "(squeeze-rotate, drawn from seed)">,
    Option<"method", "method", "std::string", "\"squeeze10\"",
           "squeeze10 | pbllm | gptq | rtn | binary">,
    Option<"calibFile", "calib", "std::string", "\"\"",
           "Calibration text file (required except for rtn); a .ids file "
           "holds token ids instead of text">,
    TokenizerOpt,
    NSamplesOpt,
    SeqLenOpt,
    SeedOpt,
    BitsOpt,
    RoleBitsOpt,
    GroupSizeOpt,
    RoleGroupSizeOpt,
    TernaryOpt,
    ClipNormOpt,
    RatioOpt,
    RoleRatioOpt,
    LambdaOpt,
    NormalizeOpt,
    PbarTokensOpt,
    GranularityOpt,
    ChannelBlockOpt,
    NmBlockOpt,
    PbarOpt,
    RangeDeltaOpt,
    Option<"fias", "fias", "bool", "true",
           "Full-precision activations for every layer (off: sequential)">,
    StagedOpt,
    DiagOpt,
    PercdampOpt,
    HessianF32FromOpt,
    BlockSizeOpt,
    ActOrderOpt,
    RefitBinaryOpt,
    OutputRefitOpt,
    RefitRoundsOpt,
    Option<"report", "report", "std::string", "\"\"", "JSON report file">,
    ThreadsOpt,
    Option<"pack", "pack", "bool", "true",
           "End with squeeze-pack (false: leave unpacked codes)">,
    LayoutOpt,
    ParamsOpt,
    Option<"shards", "shards", "int64_t", "1",
           "Split the layers among this many runs (FIAS methods only)">,
    Option<"shard", "shard", "int64_t", "0",
           "This run's share: decoder layers k with k mod shards = shard">,
  ];
}
def SqueezeMergeShards : Pass<"squeeze-merge-shards", "mlir::ModuleOp"> {
  let summary = "Assemble a model quantized in shards";
  let description = [{
    Runs on the result of one shard of `squeeze10-quantize` (`shards=N
    shard=i`) and takes every decoder layer it left in full precision from
    the other shards' results listed in `parts`: the packed weight is
    copied and the layer becomes a `squeeze.quantized_linear` exactly as a
    single run would have made it, so the assembled model is byte for byte
    the single run's. Fails, naming the layer, if a layer is in no part or
    in two, if shapes differ, or if a part's weight is not packed.

    ```sh
    s10-opt m.mlir --squeeze10-quantize="calib=t.txt shards=2 shard=0" -o p0.mlirbc
    s10-opt m.mlir --squeeze10-quantize="calib=t.txt shards=2 shard=1" -o p1.mlirbc
    s10-opt p0.mlirbc --squeeze-merge-shards="parts=p1.mlirbc" -o m.q.mlirbc
    ```
  }];
  let options = [
    ListOption<"parts", "parts", "std::string",
               "Results of the other shards (comma-separated files)">,
  ];
}

#endif // S10_DIALECT_SQUEEZE_TRANSFORMS_PASSES_TD
