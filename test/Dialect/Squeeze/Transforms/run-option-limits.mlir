// The calibration options that size work are checked before any: threads in
// [0, 256] (2000 made thread creation abort), and seqlen within the model's
// positions (squeeze.max_positions, as s10-run checks --seqlen). This file
// stands in for the calibration text: it exists, and is never read.
// RUN: not s10-opt %s --pass-pipeline='builtin.module(squeeze-calibrate{calib-file=%s threads=2000})' 2>&1 | FileCheck %s --check-prefix=CAL-MANY
// RUN: not s10-opt %s --pass-pipeline='builtin.module(squeeze-calibrate{calib-file=%s threads=-1})' 2>&1 | FileCheck %s --check-prefix=CAL-NEG
// RUN: not s10-opt %s --pass-pipeline='builtin.module(squeeze-calibrate{calib-file=%s seqlen=17})' 2>&1 | FileCheck %s --check-prefix=CAL-SEQ
// RUN: not s10-opt %s --squeeze10-quantize="method=squeeze10 calib=%s threads=2000" 2>&1 | FileCheck %s --check-prefix=Q-MANY
// RUN: not s10-opt %s --squeeze10-quantize="method=squeeze10 calib=%s threads=-1" 2>&1 | FileCheck %s --check-prefix=Q-NEG
// RUN: not s10-opt %s --squeeze10-quantize="method=squeeze10 calib=%s seqlen=17" 2>&1 | FileCheck %s --check-prefix=Q-SEQ
// RUN: s10-opt %s --squeeze10-quantize="method=squeeze10 calib=%s threads=2000" 2>/dev/null; test $? -eq 1
// Within the limits, the checks pass and the missing calibration file is the
// error.
// RUN: not s10-opt %s --pass-pipeline='builtin.module(squeeze-calibrate{calib-file=%t.missing.txt seqlen=16 threads=256 tokenizer=%models/llama-12m/tokenizer.model})' 2>&1 | FileCheck %s --check-prefix=CAL-OK

// CAL-MANY: error: squeeze-calibrate: threads must be in [0, 256] (0: all cores), got 2000
// CAL-NEG: error: squeeze-calibrate: threads must be in [0, 256] (0: all cores), got -1
// CAL-SEQ: error: squeeze-calibrate: seqlen 17 exceeds the model's 16 positions
// Q-MANY: error: squeeze10-quantize: threads must be in [0, 256] (0: all cores), got 2000
// Q-NEG: error: squeeze10-quantize: threads must be in [0, 256] (0: all cores), got -1
// Q-SEQ: error: squeeze10-quantize: seqlen 17 exceeds the model's 16 positions
// CAL-OK: squeeze-calibrate: cannot read calibration file '{{.*}}.missing.txt'

module attributes {squeeze.max_positions = 16 : i64} {
  func.func @f(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
    %w = arith.constant dense<1.0> : tensor<2x4xf32>
    %0 = squeeze.linear %x, %w {role = #squeeze.role<block = 0, kind = up>, weight_layout = #squeeze.weight_layout<out_in>} : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
    return %0 : tensor<3x2xf32>
  }
}
