// RUN: not s10-opt %s --pass-pipeline='builtin.module(func.func(squeeze-quantize-stage1{bits=9}))' 2>&1 | FileCheck %s --check-prefix=BITS
// RUN: not s10-opt %s --pass-pipeline='builtin.module(func.func(squeeze-gptq{mode=kbit quiet=true}))' 2>&1 | FileCheck %s --check-prefix=UNCAL
// RUN: not s10-opt %s --pass-pipeline='builtin.module(func.func(squeeze-gptq{mode=fancy}))' 2>&1 | FileCheck %s --check-prefix=MODE
// RUN: not s10-opt %s --pass-pipeline='builtin.module(func.func(squeeze-select-salient{granularity=diagonal}))' 2>&1 | FileCheck %s --check-prefix=GRAN
// RUN: not s10-opt %s --pass-pipeline='builtin.module(func.func(squeeze-select-salient{ratio=1.5}))' 2>&1 | FileCheck %s --check-prefix=RATIO
// RUN: not s10-opt %s --pass-pipeline='builtin.module(func.func(squeeze-select-salient{role-ratio=w:0.1}))' 2>&1 | FileCheck %s --check-prefix=ROLE-KIND
// RUN: not s10-opt %s --pass-pipeline='builtin.module(func.func(squeeze-select-salient{role-ratio=lm_head:0.1}))' 2>&1 | FileCheck %s --check-prefix=ROLE-KIND
// RUN: not s10-opt %s --pass-pipeline='builtin.module(func.func(squeeze-select-salient{role-ratio=v.x:0.1}))' 2>&1 | FileCheck %s --check-prefix=ROLE-BLOCK
// RUN: not s10-opt %s --pass-pipeline='builtin.module(func.func(squeeze-select-salient{role-ratio=v:2}))' 2>&1 | FileCheck %s --check-prefix=ROLE-RATIO
// RUN: not s10-opt %s --pass-pipeline='builtin.module(func.func(squeeze-select-salient{granularity=nm ratio=0.125 role-ratio=down:0.01}))' 2>&1 | FileCheck %s --check-prefix=ROLE-NM
// RUN: not s10-opt %s --pass-pipeline='builtin.module(func.func(squeeze-select-salient))' 2>&1 | FileCheck %s --check-prefix=NOCAL
// RUN: not s10-opt %s --pass-pipeline='builtin.module(squeeze-calibrate)' 2>&1 | FileCheck %s --check-prefix=NOFILE
// RUN: not s10-opt %s --pass-pipeline='builtin.module(squeeze-calibrate{calib-file=%t.missing.txt tokenizer=%models/llama-12m/tokenizer.model})' 2>&1 | FileCheck %s --check-prefix=MISSING
// RUN: not s10-opt %s --squeeze10-quantize=method=magic 2>&1 | FileCheck %s --check-prefix=METHOD
// RUN: not s10-opt %s --squeeze10-quantize=method=gptq 2>&1 | FileCheck %s --check-prefix=NEEDCALIB
// RUN: not s10-opt %s --squeeze10-quantize="method=rtn layout=bitmap" 2>&1 | FileCheck %s --check-prefix=LAYOUT-RTN
// RUN: not s10-opt %s --squeeze10-quantize="calib=x layout=chanblock" 2>&1 | FileCheck %s --check-prefix=LAYOUT-CB
// RUN: not s10-opt %s --squeeze10-quantize="calib=x layout=kbit" 2>&1 | FileCheck %s --check-prefix=LAYOUT-KBIT
// RUN: not s10-opt %s --squeeze10-quantize="method=rtn layout=weird" 2>&1 | FileCheck %s --check-prefix=LAYOUT-NAME
// RUN: not s10-opt %s --squeeze10-quantize="method=rtn params=f32" 2>&1 | FileCheck %s --check-prefix=PARAMS
// Sub-pass options are checked before calibration starts (this file stands
// in for the calibration text; calibrating on it would be another error).
// RUN: not s10-opt %s --squeeze10-quantize="calib=%s bits=9" 2>&1 | FileCheck %s --check-prefix=BITS
// RUN: not s10-opt %s --squeeze10-quantize="calib=%s ratio=7" 2>&1 | FileCheck %s --check-prefix=RATIO7
// RUN: not s10-opt %s --squeeze10-quantize="method=gptq calib=%s bits=12" 2>&1 | FileCheck %s --check-prefix=GPTQBITS
// RUN: not s10-opt %s --squeeze10-quantize="method=squeeze10 calib=%s hessian-f32-from=-1" 2>&1 | FileCheck %s --check-prefix=F32FROM
// RUN: not s10-opt %s --pass-pipeline='builtin.module(func.func(squeeze-gptq{hessian-f32-from=-5}))' 2>&1 | FileCheck %s --check-prefix=F32FROM-GPTQ
// RUN: not s10-opt %s --pass-pipeline='builtin.module(func.func(squeeze-gptq{mode=rtn output-refit=true}))' 2>&1 | FileCheck %s --check-prefix=REFIT-RTN
// RUN: not s10-opt %s --pass-pipeline='builtin.module(func.func(squeeze-gptq{output-refit=true refit-rounds=0}))' 2>&1 | FileCheck %s --check-prefix=ROUNDS0
// RUN: not s10-opt %s --pass-pipeline='builtin.module(func.func(squeeze-gptq{refit-rounds=2}))' 2>&1 | FileCheck %s --check-prefix=ROUNDS-NOREFIT
// RUN: not s10-opt %s --squeeze10-quantize="method=rtn hessian-f32-from=0" 2>&1 | FileCheck %s --check-prefix=F32FROM-RTN
// A missing calibration file or tokenizer is found before any work, too.
// RUN: not s10-opt %s --squeeze10-quantize="calib=%t.missing.txt" 2>&1 | FileCheck %s --check-prefix=NOCALIB
// RUN: not s10-opt %s --squeeze10-quantize="calib=%s tokenizer=%t.missing.model" 2>&1 | FileCheck %s --check-prefix=NOTOK
// RUN: not s10-opt %s --squeeze10-quantize="calib=%S" 2>&1 | FileCheck %s --check-prefix=CALIBDIR

// BITS: error: squeeze-quantize-stage1: bits must be in [2, 8], got 9
// BITS-NOT: calibration
// RATIO7: error: squeeze-select-salient: ratio must be in [0, 1], got 7
// ROLE-KIND: error: squeeze-select-salient: role-ratio entry '{{w|lm_head}}:0.1': expected kind[.block]:ratio with kind q, k, v, o, gate, up or down
// ROLE-BLOCK: error: squeeze-select-salient: role-ratio entry 'v.x:0.1': block 'x' is not a block index
// ROLE-RATIO: error: squeeze-select-salient: role-ratio entry 'v:2': ratio must be a number in [0, 1]
// ROLE-NM: error: squeeze-select-salient: role-ratio 0.01 keeps 0 of every 8 inputs; nm needs between 1 and 7
// RATIO7-NOT: calibration
// GPTQBITS: error: squeeze-gptq: bits must be in [1, 8], got 12
// GPTQBITS-NOT: calibration
// F32FROM: error: squeeze-select-salient: hessian-f32-from must be >= 0, got -1
// F32FROM-NOT: calibration
// F32FROM-GPTQ: error: squeeze-gptq: hessian-f32-from must be >= 0, got -5
// REFIT-RTN: error: squeeze-gptq: output-refit needs calibration (mode mixed or kbit), got mode rtn
// ROUNDS0: error: squeeze-gptq: refit-rounds must be >= 1, got 0
// ROUNDS-NOREFIT: error: squeeze-gptq: refit-rounds needs output-refit=true
// F32FROM-RTN: error: squeeze10-quantize: option 'hessian-f32-from' has no effect with method=rtn
// NOCALIB: error: squeeze-calibrate: cannot read calibration file '{{.*}}.missing.txt': No such file or directory
// NOCALIB-NOT: see current operation
// NOTOK: error: squeeze-calibrate: cannot read tokenizer '{{.*}}.missing.model'
// CALIBDIR: error: squeeze-calibrate: calibration file '{{.*}}' is a directory
// UNCAL: error: b0.up: not calibrated (no 'squeeze.hessian'; run squeeze-calibrate)
// MODE: squeeze-gptq: unknown mode 'fancy' (expected mixed, kbit, rtn or binary)
// GRAN: squeeze-select-salient: unknown granularity 'diagonal' (expected layer, row, group, channel or nm)
// RATIO: squeeze-select-salient: ratio must be in [0, 1], got 1.5
// NOCAL: error: b0.up: not calibrated (no 'squeeze.hessian'; run squeeze-calibrate)
// NOFILE: squeeze-calibrate: missing 'calib-file'
// MISSING: squeeze-calibrate: cannot read calibration file '{{.*}}.missing.txt'
// METHOD: squeeze10-quantize: unknown method 'magic' (expected squeeze10, pbllm, gptq, rtn or binary)
// NEEDCALIB: squeeze10-quantize: method 'gptq' needs a calibration text: calib=<file>
// LAYOUT-RTN: squeeze10-quantize: layout=bitmap needs salient weights (method=squeeze10 or pbllm)
// LAYOUT-CB: squeeze10-quantize: layout=chanblock needs granularity=channel
// LAYOUT-KBIT: squeeze10-quantize: layout=kbit needs a method without salient weights (rtn, binary, gptq)
// LAYOUT-NAME: squeeze10-quantize: unknown layout 'weird' (expected auto, kbit, ternary, bitmap, chanblock or nm)
// PARAMS: squeeze10-quantize: unknown params 'f32' (expected f16, q8 or q8t)

func.func @f(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x4xf32>
  %0 = squeeze.linear %x, %w {role = #squeeze.role<block = 0, kind = up>, weight_layout = #squeeze.weight_layout<out_in>} : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}
