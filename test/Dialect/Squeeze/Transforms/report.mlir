// squeeze-gptq leaves each layer's numbers on the layer; squeeze-report
// gathers them at module level, in module order, into one summary and one
// JSON file, and removes them.
// RUN: s10-opt %s --pass-pipeline='builtin.module(func.func(squeeze-gptq{mode=rtn bits=2 group-size=2 quiet=true}),squeeze-report{report=%t.json})' 2>%t.err | FileCheck %s
// RUN: FileCheck %s --check-prefix=JSON < %t.json
// RUN: FileCheck %s --check-prefix=LOG < %t.err
// RUN: s10-opt %s --pass-pipeline='builtin.module(func.func(squeeze-gptq{mode=rtn bits=2 group-size=2 quiet=true}),squeeze-report{keep=true quiet=true})' -o %t.keep.mlir
// RUN: FileCheck %s --check-prefix=KEEP < %t.keep.mlir
// A module without records: nothing to report, no file written.
// RUN: rm -f %t.none.json
// RUN: not s10-opt %s --pass-pipeline='builtin.module(squeeze-report{report=%t.none.json})' 2>&1 | FileCheck %s --check-prefix=NONE
// RUN: not test -e %t.none.json
// A record missing a field is refused, naming the layer's location.
// RUN: sed 's/payload_bpw = [^,]*, //' %t.keep.mlir > %t.bad.mlir
// RUN: not s10-opt %t.bad.mlir --pass-pipeline='builtin.module(squeeze-report)' 2>&1 | FileCheck %s --check-prefix=BAD

// CHECK-COUNT-2: squeeze.quantized_linear
// CHECK-NOT: squeeze.quant_report

// Two layers of 2x4 weights at 2 bits (RTN: no calibration, so no
// relative output error).
// JSON: "layers": [
// JSON: "layer": "b0.up",
// JSON: "payload_bpw": 2,
// JSON: "layer": "b1.down",
// JSON: "mode": "rtn",
// JSON: "payload_bpw": 2,
// JSON: "weights": 16
// JSON-NOT: relative_output_error
// LOG: quantized 2 layers, 16 weights: payload 2.000 bpw

// KEEP-COUNT-2: squeeze.quant_report = {mode = "rtn", payload_bpw = 2.000000e+00 : f64

// NONE: error: squeeze-report: no quantized layer carries a record (run squeeze-gptq first); not writing '{{.*}}none.json'
// BAD: error: squeeze-report: malformed "squeeze.quant_report" record

func.func @two(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w0 = arith.constant dense<[[0.0, 3.0, -1.0, 1.0], [2.0, 2.0, 2.0, 2.0]]> : tensor<2x4xf32>
  %w1 = arith.constant dense<[[1.0, -3.0, 0.5, 2.0], [0.0, 1.0, 2.0, 3.0]]> : tensor<2x4xf32>
  %0 = squeeze.linear %x, %w0 {role = #squeeze.role<block = 0, kind = up>, weight_layout = #squeeze.weight_layout<out_in>} : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  %1 = squeeze.linear %x, %w1 {role = #squeeze.role<block = 1, kind = down>, weight_layout = #squeeze.weight_layout<out_in>} : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  %2 = arith.addf %0, %1 : tensor<3x2xf32>
  return %2 : tensor<3x2xf32>
}
