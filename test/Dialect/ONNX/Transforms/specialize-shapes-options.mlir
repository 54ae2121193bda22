// Malformed options are rejected when the pipeline is built.

// RUN: not s10-opt %s -onnx-specialize-shapes="dims=seq" 2>&1 | FileCheck %s --check-prefix=NOVALUE
// NOVALUE: error: invalid 'dims' entry 'seq': expected NAME=VALUE

// RUN: not s10-opt %s --pass-pipeline="builtin.module(func.func(onnx-specialize-shapes{dims=seq=eight}))" 2>&1 | FileCheck %s --check-prefix=NOTINT
// NOTINT: error: invalid 'dims' entry 'seq=eight': 'eight' is not a non-negative integer

// RUN: not s10-opt %s -onnx-specialize-shapes="dims=seq=-3" 2>&1 | FileCheck %s --check-prefix=NEGATIVE
// NEGATIVE: error: invalid 'dims' entry 'seq=-3': '-3' is not a non-negative integer

// RUN: not s10-opt %s -onnx-specialize-shapes="dims=seq=8,seq=9" 2>&1 | FileCheck %s --check-prefix=TWICE
// TWICE: error: 'dims' binds 'seq' to both 8 and 9

// RUN: not s10-opt %s -onnx-specialize-shapes="arg-dims=0=8" 2>&1 | FileCheck %s --check-prefix=POS
// POS: error: invalid 'arg-dims' entry '0=8': expected ARG:DIM=VALUE with non-negative integers

// RUN: not s10-opt %s -onnx-specialize-shapes="arg-dims=3:0=8" 2>&1 | FileCheck %s --check-prefix=RANGE
// RANGE: error: 'arg-dims' names argument #3 but the function has 1 arguments

func.func @f(%x: tensor<?xf32> {onnx.dim_params = ["seq"]}) -> tensor<?xf32> {
  return %x : tensor<?xf32>
}
