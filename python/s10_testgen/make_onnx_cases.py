#!/usr/bin/env python3
"""Writes the ONNX inputs of s10's importer tests (test/Target/ONNX/Inputs).

    /usr/bin/python3 python/s10_testgen/make_onnx_cases.py [--out DIR]

Needs Debian's python3-onnx and python3-numpy. Deterministic: a fixed seed
and fixed names. Writes:

* tiny_llama_b.onnx: a second LLaMA-family decoder with other shapes and
  conventions than models/llama-12m: fp32 weights stored inline, every linear
  layer a Gemm(transB=1) with its weight [out, in], a 2-D residual stream
  [seq, hidden], multi-head attention (heads == kv heads), sizes that are no
  multiple of 128, opset 17 (ReduceMean takes axes as an attribute), no
  value_info (types come from shape inference). Its logits for a fixed prompt
  are computed in numpy (float32) into tiny_llama_b.ref.f32 (raw little-endian
  [seq, vocab]) and tiny_llama_b.ref.json (ids, shape, config); the graph
  itself is checked against that reference with a small numpy interpreter.
* small valid models for the importer's corner cases (misc_ok, ext_ok, ...).
* bad_*.onnx: one model per kind of input the importer must reject.
* tensor_*.pb, bad_tensor.pb: serialized TensorProtos (readTensorProtoFile).
"""

import argparse
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SEED = 20240611
INT64_MAX = 2**63 - 1

# Config of tiny_llama_b.
VOCAB, HIDDEN, HEADS, HEAD_DIM, INTER, LAYERS = 300, 96, 4, 24, 200, 2
EPS, THETA = 1e-6, 10000.0
PROMPT = [1, 17, 42, 99, 123, 250, 7, 64, 299, 0, 150]


# ---------------------------------------------------------------------------
# tiny_llama_b
# ---------------------------------------------------------------------------

def make_weights(rng):
    def lin(out_f, in_f):
        return (rng.standard_normal((out_f, in_f)) / np.sqrt(in_f)).astype(np.float32)

    def norm():
        return (1.0 + 0.1 * rng.standard_normal(HIDDEN)).astype(np.float32)

    w = {"model.embed_tokens.weight":
         (0.5 * rng.standard_normal((VOCAB, HIDDEN))).astype(np.float32)}
    for i in range(LAYERS):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = norm()
        for proj in ("q", "k", "v", "o"):
            w[p + f"self_attn.{proj}_proj.weight"] = lin(HIDDEN, HIDDEN)
        w[p + "post_attention_layernorm.weight"] = norm()
        w[p + "mlp.gate_proj.weight"] = lin(INTER, HIDDEN)
        w[p + "mlp.up_proj.weight"] = lin(INTER, HIDDEN)
        w[p + "mlp.down_proj.weight"] = lin(HIDDEN, INTER)
    w["model.norm.weight"] = norm()
    w["lm_head.weight"] = lin(VOCAB, HIDDEN)
    return w


class GraphBuilder:
    """Names nodes and values the way PyTorch's TorchScript exporter does."""

    def __init__(self):
        self.nodes, self.initializers, self.counts = [], [], {}

    def node(self, op, inputs, scope, outputs=None, **attrs):
        key = (scope, op)
        k = self.counts.get(key, 0)
        self.counts[key] = k + 1
        name = f"{scope}/{op}" if k == 0 else f"{scope}/{op}_{k}"
        outs = outputs or [f"{name}_output_0"]
        self.nodes.append(helper.make_node(op, inputs, outs, name=name, **attrs))
        return outs[0]

    def const(self, scope, value):
        value = np.asarray(value)
        return self.node("Constant", [], scope,
                         value=numpy_helper.from_array(value, ""))

    def ints(self, scope, values):
        return self.const(scope, np.array(values, dtype=np.int64))

    def scalar_f(self, scope, value):
        return self.const(scope, np.array(value, dtype=np.float32))

    def initializer(self, name, array):
        self.initializers.append(numpy_helper.from_array(array, name))
        return name


def build_tiny_llama_b(w):
    g = GraphBuilder()
    scope = "/model"

    def gemm(x, weight, s):
        # nn.Linear on a 2-D input: Gemm with the [out, in] weight, transB=1.
        return g.node("Gemm", [x, weight], s, alpha=1.0, beta=1.0, transB=1)

    def rms_norm(x, weight, s):
        p = g.node("Pow", [x, g.scalar_f(s, 2.0)], s)
        m = g.node("ReduceMean", [p], s, axes=[-1], keepdims=1)
        a = g.node("Add", [m, g.scalar_f(s, EPS)], s)
        r = g.node("Reciprocal", [g.node("Sqrt", [a], s)], s)
        return g.node("Mul", [weight, g.node("Mul", [x, r], s)], s)

    def heads(x, s):
        # [seq, hidden] -> [heads, seq, head_dim]
        r = g.node("Reshape", [x, g.ints(s, [-1, HEADS, HEAD_DIM])], s)
        return g.node("Transpose", [r], s, perm=[1, 0, 2])

    def rotary(x, cos, sin, s):
        half = HEAD_DIM // 2
        axes = g.ints(s, [-1])
        x1 = g.node("Slice", [x, g.ints(s, [0]), g.ints(s, [half]), axes], s)
        x2 = g.node("Slice", [x, g.ints(s, [half]), g.ints(s, [INT64_MAX]), axes], s)
        rot = g.node("Concat", [g.node("Neg", [x2], s), x1], s, axis=-1)
        return g.node("Add", [g.node("Mul", [x, cos], s),
                              g.node("Mul", [rot, sin], s)], s)

    for name, array in w.items():
        g.initializer(name, array)

    ids = "input_ids"
    emb = g.node("Gather", ["model.embed_tokens.weight", ids],
                 scope + "/embed_tokens", axis=0)
    h = g.node("Reshape", [emb, g.ints(scope, [-1, HIDDEN])], scope)

    # Positions, rotary tables and the causal mask, all from seq.
    s = scope + "/rotary_emb"
    seq = g.node("Gather", [g.node("Shape", [ids], scope), g.ints(scope, 1)],
                 scope, axis=0)
    pos = g.node("Range", [g.ints(scope, 0), seq, g.ints(scope, 1)], scope)
    posf = g.node("Cast", [pos], s, to=TensorProto.FLOAT)
    # In float64, then rounded: numpy's float32 power differs in its last
    # bit between CPUs (AVX2 and AVX-512 code paths).
    inv_freq = (1.0 / THETA ** (np.arange(0, HEAD_DIM, 2, dtype=np.float64)
                                / HEAD_DIM)).astype(np.float32)
    freqs = g.node("Mul", [g.node("Unsqueeze", [posf, g.ints(s, [1])], s),
                           g.const(s, inv_freq)], s)
    angles = g.node("Concat", [freqs, freqs], s, axis=-1)
    cos, sin = g.node("Cos", [angles], s), g.node("Sin", [angles], s)

    rows = g.node("Unsqueeze", [pos, g.ints(scope, [1])], scope)
    cols = g.node("Unsqueeze", [pos, g.ints(scope, [0])], scope)
    allowed = g.node("LessOrEqual", [cols, rows], scope)
    mask = g.node("Where", [allowed, g.scalar_f(scope, 0.0),
                            g.scalar_f(scope, np.finfo(np.float32).min)], scope)

    for i in range(LAYERS):
        p = f"model.layers.{i}."
        ls = f"{scope}/layers.{i}"
        x = rms_norm(h, p + "input_layernorm.weight", ls + "/input_layernorm")
        a = ls + "/self_attn"
        q = heads(gemm(x, p + "self_attn.q_proj.weight", a + "/q_proj"), a)
        k = heads(gemm(x, p + "self_attn.k_proj.weight", a + "/k_proj"), a)
        v = heads(gemm(x, p + "self_attn.v_proj.weight", a + "/v_proj"), a)
        q, k = rotary(q, cos, sin, a), rotary(k, cos, sin, a)
        kt = g.node("Transpose", [k], a, perm=[0, 2, 1])
        scores = g.node("MatMul", [q, kt], a)
        scores = g.node("Mul", [scores, g.scalar_f(a, 1.0 / np.sqrt(HEAD_DIM))], a)
        scores = g.node("Add", [scores, mask], a)
        probs = g.node("Softmax", [scores], a, axis=-1)
        o = g.node("MatMul", [probs, v], a)
        o = g.node("Transpose", [o], a, perm=[1, 0, 2])
        o = g.node("Reshape", [o, g.ints(a, [-1, HIDDEN])], a)
        o = gemm(o, p + "self_attn.o_proj.weight", a + "/o_proj")
        h = g.node("Add", [h, o], ls)
        x = rms_norm(h, p + "post_attention_layernorm.weight",
                     ls + "/post_attention_layernorm")
        m = ls + "/mlp"
        gate = gemm(x, p + "mlp.gate_proj.weight", m + "/gate_proj")
        up = gemm(x, p + "mlp.up_proj.weight", m + "/up_proj")
        act = g.node("Mul", [gate, g.node("Sigmoid", [gate], m + "/act_fn")],
                     m + "/act_fn")
        down = gemm(g.node("Mul", [act, up], m), p + "mlp.down_proj.weight",
                    m + "/down_proj")
        h = g.node("Add", [h, down], ls)

    h = rms_norm(h, "model.norm.weight", scope + "/norm")
    logits = gemm(h, "lm_head.weight", "/lm_head")
    g.node("Reshape", [logits, g.ints("", [1, -1, VOCAB])], "", outputs=["logits"])

    graph = helper.make_graph(
        g.nodes, "tiny_llama_b",
        [helper.make_tensor_value_info(ids, TensorProto.INT64, [1, "seq"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT,
                                       [1, "seq", VOCAB])],
        g.initializers)
    model = helper.make_model(graph, producer_name="s10_testgen",
                              producer_version="1",
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def reference_logits(w, ids):
    """The decoder written directly in numpy (float32), independent of the graph."""
    f32 = np.float32

    def rms(x, weight):
        return weight * (x / np.sqrt(np.mean(x * x, -1, keepdims=True) + f32(EPS)))

    def silu(x):
        return x / (f32(1) + np.exp(-x))

    seq = len(ids)
    x = w["model.embed_tokens.weight"][np.array(ids)]
    inv = (1.0 / THETA ** (np.arange(0, HEAD_DIM, 2, dtype=np.float64) / HEAD_DIM)).astype(f32)
    ang = np.arange(seq, dtype=f32)[:, None] * inv[None, :]
    ang = np.concatenate([ang, ang], -1)
    cos, sin = np.cos(ang), np.sin(ang)
    causal = np.tril(np.ones((seq, seq), dtype=bool))

    def rope(t):  # [heads, seq, d]
        half = HEAD_DIM // 2
        rot = np.concatenate([-t[..., half:], t[..., :half]], -1)
        return t * cos + rot * sin

    for i in range(LAYERS):
        p = f"model.layers.{i}."
        y = rms(x, w[p + "input_layernorm.weight"])
        q, k, v = (y @ w[p + f"self_attn.{n}_proj.weight"].T for n in "qkv")
        q, k, v = (t.reshape(seq, HEADS, HEAD_DIM).transpose(1, 0, 2) for t in (q, k, v))
        q, k = rope(q), rope(k)
        s = (q @ k.transpose(0, 2, 1)) / f32(np.sqrt(HEAD_DIM))
        s = np.where(causal, s, -np.inf)
        s = np.exp(s - s.max(-1, keepdims=True))
        s = s / s.sum(-1, keepdims=True)
        o = (s @ v).transpose(1, 0, 2).reshape(seq, HIDDEN)
        x = x + o @ w[p + "self_attn.o_proj.weight"].T
        y = rms(x, w[p + "post_attention_layernorm.weight"])
        gate = y @ w[p + "mlp.gate_proj.weight"].T
        up = y @ w[p + "mlp.up_proj.weight"].T
        x = x + (silu(gate) * up) @ w[p + "mlp.down_proj.weight"].T
    x = rms(x, w["model.norm.weight"])
    return (x @ w["lm_head.weight"].T).astype(f32)


def run_graph(model, feeds):
    """A numpy interpreter for the ops the generated decoder uses."""
    env = dict(feeds)
    for t in model.graph.initializer:
        env[t.name] = numpy_helper.to_array(t)
    for n in model.graph.node:
        a = {x.name: helper.get_attribute_value(x) for x in n.attribute}
        i = [env[x] for x in n.input]
        op = n.op_type
        if op == "Constant":
            r = numpy_helper.to_array(a["value"])
        elif op == "Gather":
            r = np.take(i[0], i[1], axis=a.get("axis", 0))
        elif op == "Reshape":
            r = i[0].reshape(i[1])
        elif op == "Shape":
            r = np.array(i[0].shape, dtype=np.int64)
        elif op == "Range":
            r = np.arange(i[0], i[1], i[2], dtype=np.int64)
        elif op == "Cast":
            r = i[0].astype(onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[a["to"]])
        elif op == "Unsqueeze":
            r = np.expand_dims(i[0], tuple(i[1]))
        elif op == "Concat":
            r = np.concatenate(i, a["axis"])
        elif op == "Slice":
            sl = [slice(None)] * i[0].ndim
            for st, en, ax in zip(i[1], i[2], i[3]):
                sl[ax] = slice(st, min(en, i[0].shape[ax]))
            r = i[0][tuple(sl)]
        elif op == "Gemm":
            b = i[1].T if a.get("transB") else i[1]
            r = i[0] @ b
        elif op == "Transpose":
            r = i[0].transpose(a["perm"])
        elif op == "ReduceMean":
            r = i[0].mean(tuple(a["axes"]), keepdims=bool(a["keepdims"]))
        elif op == "Softmax":
            e = np.exp(i[0] - i[0].max(a["axis"], keepdims=True))
            r = e / e.sum(a["axis"], keepdims=True)
        elif op == "Where":
            r = np.where(*i)
        else:
            fn = {"Mul": np.multiply, "Add": np.add, "Pow": np.power,
                  "Sqrt": np.sqrt, "Reciprocal": np.reciprocal,
                  "Neg": np.negative, "MatMul": np.matmul, "Cos": np.cos,
                  "Sin": np.sin, "LessOrEqual": np.less_equal,
                  "Sigmoid": lambda x: 1 / (1 + np.exp(-x))}[op]
            r = fn(*i)
        if isinstance(r, np.ndarray) and r.dtype == np.float64:
            r = r.astype(np.float32)
        env[n.output[0]] = r
    return [env[o.name] for o in model.graph.output]


def write_tiny_llama_b(out):
    rng = np.random.default_rng(SEED)
    w = make_weights(rng)
    model = build_tiny_llama_b(w)
    ids = np.array([PROMPT], dtype=np.int64)
    ref = reference_logits(w, PROMPT)
    (got,) = run_graph(model, {"input_ids": ids})
    assert got.shape == (1, len(PROMPT), VOCAB), got.shape
    err = float(np.abs(got[0] - ref).max())
    assert err < 1e-4 * max(1.0, float(np.abs(ref).max())), err
    onnx.save(model, os.path.join(out, "tiny_llama_b.onnx"))
    ref.astype("<f4").tofile(os.path.join(out, "tiny_llama_b.ref.f32"))
    with open(os.path.join(out, "tiny_llama_b.ref.json"), "w") as f:
        json.dump({"ids": PROMPT, "logits_shape": [1, len(PROMPT), VOCAB],
                   "logits_file": "tiny_llama_b.ref.f32",
                   "config": {"vocab": VOCAB, "hidden": HIDDEN, "heads": HEADS,
                              "kv_heads": HEADS, "head_dim": HEAD_DIM,
                              "intermediate": INTER, "layers": LAYERS,
                              "rms_eps": EPS, "rope_theta": THETA},
                   "graph_vs_reference_max_abs_err": err}, f, indent=1)
        f.write("\n")


# ---------------------------------------------------------------------------
# Small models
# ---------------------------------------------------------------------------

def small_model(nodes, inputs, outputs, initializers=(), opset=17, ir=8,
                value_info=(), extra_opsets=()):
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(initializers),
                              value_info=list(value_info))
    opsets = [helper.make_opsetid("", opset)] + list(extra_opsets)
    model = helper.make_model(graph, producer_name="s10_testgen",
                              opset_imports=opsets)
    model.ir_version = ir
    return model


def vi(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, shape)


def external(name, elem, dims, location, offset=None, length=None):
    t = TensorProto(name=name, data_type=elem, dims=dims)
    t.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", offset),
                       ("length", length)):
        if value is not None:
            entry = t.external_data.add()
            entry.key, entry.value = key, str(value)
    return t


def matmul_model(weight, in_features=32, out_features=32):
    return small_model(
        [helper.make_node("MatMul", ["X", weight.name], ["Y"], name="matmul_0")],
        [vi("X", TensorProto.FLOAT, ["n", in_features])],
        [vi("Y", TensorProto.FLOAT, ["n", out_features])], [weight])


def misc_ok():
    """Every tensor encoding, attribute kind, omitted inputs and outputs."""
    f = np.arange(8, dtype=np.float32)
    inits = [
        helper.make_tensor("B", TensorProto.FLOAT, [8], f.tolist()),  # float_data
        numpy_helper.from_array(np.array([1.5, -2], np.float16), "H"),  # raw
        helper.make_tensor("BF", TensorProto.BFLOAT16, [2], [1.0, -3.0]),
        helper.make_tensor("I8", TensorProto.INT8, [3], [-128, 0, 127]),
        numpy_helper.from_array(np.array([0, 200, 255], np.uint8), "U8"),
        helper.make_tensor("D", TensorProto.DOUBLE, [2], [0.25, -1e300]),
        helper.make_tensor("I32", TensorProto.INT32, [2], [-7, 2**31 - 1]),
        numpy_helper.from_array(np.zeros([0], np.int64), "E"),
        numpy_helper.from_array(np.array([True, False, True]), "BOOLS"),
        helper.make_tensor("BOOLS_T", TensorProto.BOOL, [2], [False, True]),
        # 1200 bytes: over the default inline limit, still stored in the model.
        numpy_helper.from_array(np.linspace(-1, 1, 300, dtype=np.float32), "BIG"),
        numpy_helper.from_array(np.zeros([1, 12, 4], np.float32), "LSTM_W"),
        numpy_helper.from_array(np.zeros([1, 12, 3], np.float32), "LSTM_R"),
    ]
    nodes = [
        helper.make_node("Constant", [], ["c_float"], name="c0", value_float=0.5),
        helper.make_node("Constant", [], ["c_floats"], name="c1",
                         value_floats=[1.0, 2.0]),
        helper.make_node("Constant", [], ["c_int"], name="c2", value_int=-3),
        helper.make_node("Constant", [], ["c_ints"], name="c3", value_ints=[4, 5]),
        helper.make_node("Constant", [], ["c_tensor"], name="c4",
                         value=numpy_helper.from_array(
                             np.array([[1, 2]], np.int32), "")),
        helper.make_node("Add", ["X", "B"], ["sum"], name="add_0"),
        # Clip with its optional 'min' omitted.
        helper.make_node("Clip", ["sum", "", "c_float"], ["clipped"], name="clip_0"),
        helper.make_node("Relu", ["clipped"], ["relu"]),  # no name
        helper.make_node("Transpose", ["relu"], ["t"], name="transpose_0",
                         perm=[1, 0]),
        helper.make_node("ConstantOfShape", ["c_ints"], ["filled"], name="fill_0",
                         value=numpy_helper.from_array(np.array([3.5], np.float32), "")),
        # First output omitted, second used; STRINGS/FLOATS/STRING/FLOAT/INT.
        helper.make_node("LSTM", ["S", "LSTM_W", "LSTM_R"], ["", "Y_h"],
                         name="lstm_0", hidden_size=3, direction="forward",
                         activations=["Sigmoid", "Tanh", "Tanh"],
                         activation_alpha=[0.5, 0.5, 0.5], clip=10.0),
        helper.make_node("Dropout", ["BIG"], ["dropped", ""], name="dropout_0"),
        helper.make_node("Not", ["M"], ["not_m"], name="not_0"),
        helper.make_node("Concat", ["BOOLS", "BOOLS_T"], ["bools"], name="cat_0",
                         axis=0),
    ]
    outs = [vi("t", TensorProto.FLOAT, [8, "batch"]),
            vi("filled", TensorProto.FLOAT, None), vi("Y_h", TensorProto.FLOAT, None),
            vi("dropped", TensorProto.FLOAT, [300]), vi("not_m", TensorProto.BOOL, None),
            vi("bools", TensorProto.BOOL, [5])]
    for name in ("H", "BF", "I8", "U8", "D", "I32", "E", "c_floats", "c_int",
                 "c_tensor"):
        outs.append(helper.make_empty_tensor_value_info(name))
    inputs = [vi("X", TensorProto.FLOAT, ["batch", 8]),
              # An input with a default value: imported as a constant.
              vi("B", TensorProto.FLOAT, [8]),
              vi("M", TensorProto.BOOL, [None]),
              vi("S", TensorProto.FLOAT, [2, 1, 4])]
    return small_model(nodes, inputs, outs, inits, opset=13, ir=7)


def ext_ok(out):
    """External weights: one referenced, one small enough to be inlined."""
    w1 = np.arange(64 * 64, dtype=np.float32).reshape(64, 64) / 4096
    b1 = np.arange(16, dtype=np.float32)
    w2 = np.ones((64, 32), np.float16)
    blobs = [w1.tobytes(), b1.tobytes(), b"\0" * 100, w2.tobytes()]
    with open(os.path.join(out, "ext_ok.onnx.data"), "wb") as f:
        f.write(b"".join(blobs))
    off_b1 = len(blobs[0])
    off_w2 = off_b1 + len(blobs[1]) + len(blobs[2])
    inits = [
        external("W1", TensorProto.FLOAT, [64, 64], "ext_ok.onnx.data", 0,
                 len(blobs[0])),
        external("b1", TensorProto.FLOAT, [16], "ext_ok.onnx.data", off_b1,
                 len(blobs[1])),
        # No length key: the dims give it.
        external("W2", TensorProto.FLOAT16, [64, 32], "./ext_ok.onnx.data", off_w2),
    ]
    nodes = [
        helper.make_node("MatMul", ["X", "W1"], ["h"], name="mm_0"),
        helper.make_node("Cast", ["h"], ["h16"], name="cast_0", to=TensorProto.FLOAT16),
        helper.make_node("MatMul", ["h16", "W2"], ["Y"], name="mm_1"),
        helper.make_node("Identity", ["b1"], ["B"], name="id_0"),
    ]
    return small_model(nodes, [vi("X", TensorProto.FLOAT, ["n", 64])],
                       [vi("Y", TensorProto.FLOAT16, ["n", 32]),
                        vi("B", TensorProto.FLOAT, [16])], inits)


def fallback_type():
    """Inference fails on mm_0 ([2,3] x [4,5]): the types come from the schema."""
    return small_model(
        [helper.make_node("MatMul", ["A", "Bm"], ["Z"], name="mm_0"),
         helper.make_node("Relu", ["Z"], ["Y"], name="relu_0")],
        [vi("A", TensorProto.FLOAT, [2, 3]), vi("Bm", TensorProto.FLOAT, [4, 5])],
        [helper.make_empty_tensor_value_info("Y")])


def newer_op(with_value_info):
    """Mish is opset 18, newer than the installed ONNX's schemas."""
    value_info = [vi("m", TensorProto.FLOAT, ["n", 4])] if with_value_info else []
    return small_model(
        [helper.make_node("Mish", ["X"], ["m"], name="mish_0"),
         helper.make_node("Relu", ["m"], ["Y"], name="relu_0")],
        [vi("X", TensorProto.FLOAT, ["n", 4])],
        [helper.make_empty_tensor_value_info("Y")], opset=18,
        value_info=value_info)


def identity_model(x_elem=TensorProto.FLOAT, inits=(), src="X"):
    inputs = [] if inits else [vi("X", x_elem, [4])]
    return small_model([helper.make_node("Identity", [src], ["Y"], name="id_0")],
                       inputs, [helper.make_empty_tensor_value_info("Y")], inits)


def parses(data):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            onnx.ModelProto().ParseFromString(data)
            return True
        except Exception:
            return False


def garbage():
    """Seeded random bytes that are no valid protobuf message."""
    rng = np.random.default_rng(SEED)
    while True:
        data = rng.integers(0, 256, 256, dtype=np.uint8).tobytes()
        if not parses(data):
            return data


def bad_cases(out):
    cases = {}
    weight = numpy_helper.from_array(np.ones((32, 32), np.float32), "W")
    good = matmul_model(weight).SerializeToString()
    # Cut inside W's raw_data: a length-delimited field runs past the end.
    cases["bad_truncated"] = good[: len(good) * 2 // 3]
    cases["bad_garbage"] = garbage()

    cases["bad_missing_external"] = matmul_model(external(
        "W", TensorProto.FLOAT, [32, 32], "bad_missing_external.data", 0, 4096))
    with open(os.path.join(out, "bad_short_external.data"), "wb") as f:
        f.write(b"\0" * 4000)
    cases["bad_short_external"] = matmul_model(external(
        "W", TensorProto.FLOAT, [32, 32], "bad_short_external.data", 512, 4096))
    with open(os.path.join(out, "bad_external_length.data"), "wb") as f:
        f.write(b"\0" * 8192)
    cases["bad_external_length"] = matmul_model(external(
        "W", TensorProto.FLOAT, [32, 32], "bad_external_length.data", 0, 1000))

    # Locations that leave the model's directory, as ONNX's checker refuses
    # them; the ".." one names a file that exists.
    for name, location in (("bad_external_absolute", "/etc/passwd"),
                           ("bad_external_dotdot",
                            "../Inputs/bad_external_length.data"),
                           ("bad_external_nul", "w\0.data"),
                           ("bad_external_dir", ".")):
        cases[name] = matmul_model(external(
            "W", TensorProto.FLOAT, [32, 32], location, 0, 4096))
    # A key given twice is refused rather than "the last one wins".
    duplicate = external("W", TensorProto.FLOAT, [32, 32],
                         "bad_external_length.data", 0, 4096)
    entry = duplicate.external_data.add()
    entry.key, entry.value = "offset", "64"
    cases["bad_external_duplicate_key"] = matmul_model(duplicate)

    short = numpy_helper.from_array(np.ones((4, 4), np.float32), "W")
    short.raw_data = short.raw_data[:60]
    cases["bad_raw_size"] = matmul_model(short, 4, 4)
    negative = TensorProto(name="W", data_type=TensorProto.FLOAT, dims=[-1, 4])
    negative.raw_data = b"\0" * 16
    cases["bad_negative_dim"] = matmul_model(negative, 4, 4)

    cases["bad_unknown_op"] = small_model(
        [helper.make_node("FooBar", ["X"], ["Y"], name="foo_0")],
        [vi("X", TensorProto.FLOAT, [4])], [vi("Y", TensorProto.FLOAT, [4])])
    cases["bad_domain"] = small_model(
        [helper.make_node("Custom", ["X"], ["Y"], name="custom_0",
                          domain="com.example")],
        [vi("X", TensorProto.FLOAT, [4])], [vi("Y", TensorProto.FLOAT, [4])],
        extra_opsets=[helper.make_opsetid("com.example", 1)])
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"]),
         helper.make_node("Add", ["x_in", "x_in"], ["x_out"])], "body",
        [vi("i", TensorProto.INT64, []), vi("cond_in", TensorProto.BOOL, []),
         vi("x_in", TensorProto.FLOAT, [4])],
        [vi("cond_out", TensorProto.BOOL, []), vi("x_out", TensorProto.FLOAT, [4])])
    cases["bad_loop"] = small_model(
        [helper.make_node("Loop", ["trip", "", "X"], ["Y"], name="loop_0",
                          body=body)],
        [vi("trip", TensorProto.INT64, []), vi("X", TensorProto.FLOAT, [4])],
        [vi("Y", TensorProto.FLOAT, [4])])

    cases["bad_complex_input"] = identity_model(TensorProto.COMPLEX64)
    cases["bad_string_tensor"] = identity_model(
        inits=[helper.make_tensor("names", TensorProto.STRING, [2], [b"a", b"b"])],
        src="names")
    cases["bad_cast_int16"] = small_model(
        [helper.make_node("Cast", ["X"], ["Y"], name="cast_0", to=TensorProto.INT16)],
        [vi("X", TensorProto.FLOAT, [4])], [helper.make_empty_tensor_value_info("Y")])
    cases["bad_untyped_output"] = newer_op(with_value_info=False)

    # Checked against the op's schema (opset 17 is known to the installed ONNX).
    cases["bad_invalid_node"] = small_model(
        [helper.make_node("Relu", ["X", "X"], ["Y"], name="relu_0")],
        [vi("X", TensorProto.FLOAT, [4])], [vi("Y", TensorProto.FLOAT, [4])])
    cases["bad_opset"] = small_model(
        [helper.make_node("Relu", ["X"], ["Y"], name="relu_0")],
        [vi("X", TensorProto.FLOAT, [4])], [vi("Y", TensorProto.FLOAT, [4])], opset=11)
    # Sin has not changed since opset 7: an opset-9 model means the same.
    cases["old_opset_ok"] = small_model(
        [helper.make_node("Sin", ["X"], ["Y"], name="sin_0")],
        [vi("X", TensorProto.FLOAT, [4])], [vi("Y", TensorProto.FLOAT, [4])], opset=9)
    cases["bad_ir_version"] = small_model(
        [helper.make_node("Relu", ["X"], ["Y"], name="relu_0")],
        [vi("X", TensorProto.FLOAT, [4])], [vi("Y", TensorProto.FLOAT, [4])], ir=11)
    cases["bad_undefined_value"] = small_model(
        [helper.make_node("Add", ["X", "nowhere"], ["Y"], name="add_0")],
        [vi("X", TensorProto.FLOAT, [4])], [vi("Y", TensorProto.FLOAT, [4])])
    # At opset 18 the installed ONNX cannot check nodes against their
    # schemas, and its shape inference dereferences every required input:
    # an empty or missing name there must be refused before it runs.
    cases["bad_empty_input"] = small_model(
        [helper.make_node("Shape", [""], ["Y"], name="shape_0", start=1)],
        [vi("X", TensorProto.FLOAT, [2, 4])], [vi("Y", TensorProto.INT64, [1])],
        opset=18)
    cases["bad_missing_input"] = small_model(
        [helper.make_node("Add", ["X"], ["Y"], name="add_0")],
        [vi("X", TensorProto.FLOAT, [4])], [vi("Y", TensorProto.FLOAT, [4])],
        opset=18)
    # ONNX's shape inference (data propagation through Shape) dereferences
    # the type of an undefined input: refused before it runs.
    cases["bad_undefined_shape_input"] = small_model(
        [helper.make_node("Shape", ["nowhere"], ["S"], name="shape_0"),
         helper.make_node("Reshape", ["X", "S"], ["Y"], name="reshape_0")],
        [vi("X", TensorProto.FLOAT, [2, 4])], [vi("Y", TensorProto.FLOAT, [2, 4])])
    cases["bad_duplicate_output"] = small_model(
        [helper.make_node("Neg", ["X"], ["t"], name="neg_0"),
         helper.make_node("Relu", ["X"], ["t"], name="relu_0"),
         helper.make_node("Add", ["t", "t"], ["Y"], name="add_0")],
        [vi("X", TensorProto.FLOAT, [4])], [vi("Y", TensorProto.FLOAT, [4])])
    cases["bad_use_before_def"] = small_model(
        [helper.make_node("Relu", ["t"], ["Y"], name="relu_0"),
         helper.make_node("Neg", ["X"], ["t"], name="neg_0")],
        [vi("X", TensorProto.FLOAT, [4])], [vi("Y", TensorProto.FLOAT, [4])])

    for name, model in cases.items():
        data = model if isinstance(model, bytes) else model.SerializeToString()
        with open(os.path.join(out, name + ".onnx"), "wb") as f:
            f.write(data)
    for name in ("bad_truncated", "bad_garbage"):
        if parses(cases[name]):
            sys.exit(f"{name}: expected a protobuf parse failure")


def tensor_files(out):
    """Serialized TensorProtos, as in ONNX's backend test data (input_0.pb)."""
    f16 = numpy_helper.from_array(np.arange(6, dtype=np.float16).reshape(2, 3), "x")
    i64 = helper.make_tensor("ids", TensorProto.INT64, [3], [1, -2, 3])
    truncated = f16.SerializeToString()[:-3]  # raw_data comes last
    try:
        TensorProto().ParseFromString(truncated)
        sys.exit("bad_tensor: expected a protobuf parse failure")
    except Exception:
        pass
    for name, data in (("tensor_f16", f16.SerializeToString()),
                       ("tensor_i64", i64.SerializeToString()),
                       ("bad_tensor", truncated)):
        with open(os.path.join(out, name + ".pb"), "wb") as f:
            f.write(data)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_out = os.path.join(here, "..", "..", "test", "Target", "ONNX", "Inputs")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.normpath(default_out))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)

    write_tiny_llama_b(args.out)
    for name, model in (("misc_ok", misc_ok()), ("ext_ok", ext_ok(args.out)),
                        ("fallback_type", fallback_type()),
                        ("newer_op", newer_op(with_value_info=True))):
        onnx.save(model, os.path.join(args.out, name + ".onnx"))
    bad_cases(args.out)
    tensor_files(args.out)


if __name__ == "__main__":
    main()
