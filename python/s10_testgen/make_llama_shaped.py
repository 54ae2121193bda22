#!/usr/bin/env python3
"""Writes an ONNX LLaMA decoder of a real model's shape with random weights.

    /usr/bin/python3 python/s10_testgen/make_llama_shaped.py \
        --shape llama2-7b|llama2-70b|small --layers K --out DIR [--seed S]

The graph has the structure of PyTorch's dynamo export of a Hugging Face
LlamaForCausalLM (the structure of models/llama-12m): [1, seq, hidden]
activations, fp16 compute with fp32 RMSNorm, linear weights as [in, out]
right operands of MatMul, RoPE from an inv_freq constant, grouped-query
attention through Unsqueeze/Expand/Reshape, a LessOrEqual causal mask and an
untied lm_head. The dims (hidden, heads, KV heads, MLP width, vocabulary)
are those of the named model; only the number of decoder blocks is K.
Weights are seeded N(0, 1/in) fp16 values (norm weights near 1) written to
DIR/model.onnx.data as external data, one tensor at a time, so a 70B-shaped
block (1.7 GB) never sits in memory twice. Needs python3-onnx and numpy.
"""

import argparse
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SHAPES = {
    # hidden, heads, kv heads, intermediate, vocab, max positions
    "llama2-7b": dict(hidden=4096, heads=32, kv_heads=32, inter=11008,
                      vocab=32000, max_pos=4096),
    "llama2-70b": dict(hidden=8192, heads=64, kv_heads=8, inter=28672,
                       vocab=32000, max_pos=4096),
    # The same graph at a size tests can run.
    "small": dict(hidden=256, heads=8, kv_heads=2, inter=688, vocab=4096,
                  max_pos=2048),
}
EPS, THETA = 1e-5, 10000.0
INT64_MAX = 2**63 - 1


class Writer:
    """Builds the graph and streams the weights to one external data file."""

    def __init__(self, out_dir, rng):
        self.nodes, self.inits, self.n = [], [], 0
        self.rng = rng
        self.data_name = "model.onnx.data"
        self.data = open(os.path.join(out_dir, self.data_name), "wb")
        self.offset = 0

    def val(self, prefix="v"):
        self.n += 1
        return f"{prefix}_{self.n}"

    def node(self, op, inputs, **attrs):
        out = self.val(op.lower())
        self.nodes.append(helper.make_node(op, inputs, [out], name="node_" + out,
                                           **attrs))
        return out

    def const(self, array):
        name = self.val("const")
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def ints(self, values):
        return self.const(np.array(values, dtype=np.int64))

    def external(self, name, shape, fill):
        """A fp16 initializer in the data file; fill(rows) gives f32 rows."""
        t = TensorProto()
        t.name = name
        t.data_type = TensorProto.FLOAT16
        t.dims.extend(shape)
        # 64-byte aligned, as PyTorch's exporter writes them.
        pad = (-self.offset) % 64
        self.data.write(b"\0" * pad)
        self.offset += pad
        start = self.offset
        rows = shape[0]
        step = max(1, (1 << 24) // max(1, int(np.prod(shape[1:]))))
        for r0 in range(0, rows, step):
            chunk = fill(min(step, rows - r0)).astype("<f2").tobytes()
            self.data.write(chunk)
            self.offset += len(chunk)
        t.data_location = TensorProto.EXTERNAL
        for k, v in (("location", self.data_name), ("offset", str(start)),
                     ("length", str(self.offset - start))):
            e = t.external_data.add()
            e.key, e.value = k, v
        self.inits.append(t)
        return name

    def linear_weight(self, name, in_f, out_f):
        scale = np.float32(1.0 / np.sqrt(in_f))
        return self.external(
            name, [in_f, out_f],
            lambda r: self.rng.standard_normal((r, out_f), dtype=np.float32) * scale)

    def norm_weight(self, name, n):
        return self.external(
            name, [n],
            lambda r: 1.0 + 0.05 * self.rng.standard_normal(r, dtype=np.float32))


def build(cfg, layers, out_dir, seed):
    h, heads, kvh, inter, vocab = (cfg[k] for k in
                                   ("hidden", "heads", "kv_heads", "inter", "vocab"))
    d = h // heads
    w = Writer(out_dir, np.random.default_rng(seed))
    f16, f32 = TensorProto.FLOAT16, TensorProto.FLOAT

    emb = w.external("model.embed_tokens.weight", [vocab, h],
                     lambda r: w.rng.standard_normal((r, h), dtype=np.float32) * 0.02)
    ids = "input_ids"
    x = w.node("Gather", [emb, ids], axis=0)  # [1, seq, h] f16

    # Positions, rotary tables [1, 1, seq, d] f16 and the causal mask.
    seq = w.node("Squeeze", [w.node("Shape", [ids], start=1, end=2)])
    pos = w.node("Range", [w.const(np.array(0, np.int64)), seq,
                           w.const(np.array(1, np.int64))])
    posf = w.node("Cast", [pos], to=f32)
    inv = (1.0 / THETA ** (np.arange(0, d, 2, dtype=np.float32) / d)).astype(np.float32)
    freqs = w.node("Mul", [w.node("Unsqueeze", [posf, w.ints([1])]), w.const(inv)])
    ang = w.node("Concat", [freqs, freqs], axis=-1)
    cos = w.node("Unsqueeze", [w.node("Cast", [w.node("Cos", [ang])], to=f16),
                               w.ints([0, 1])])
    sin = w.node("Unsqueeze", [w.node("Cast", [w.node("Sin", [ang])], to=f16),
                               w.ints([0, 1])])
    allowed = w.node("LessOrEqual", [w.node("Unsqueeze", [pos, w.ints([0])]),
                                     w.node("Unsqueeze", [pos, w.ints([1])])])
    mask = w.node("Where", [allowed, w.const(np.array(0, np.float16)),
                            w.const(np.array(-65504, np.float16))])

    two = w.const(np.array(2.0, np.float32))
    eps = w.const(np.array(EPS, np.float32))

    def rms_norm(v, name):
        weight = w.norm_weight(name, h)
        v32 = w.node("Cast", [v], to=f32)
        m = w.node("ReduceMean", [w.node("Pow", [v32, two])], axes=[-1], keepdims=1)
        r = w.node("Reciprocal", [w.node("Sqrt", [w.node("Add", [m, eps])])])
        n = w.node("Cast", [w.node("Mul", [v32, r])], to=f16)
        return w.node("Mul", [weight, n])

    def split_heads(v, n):  # [1, seq, n*d] -> [1, n, seq, d]
        r = w.node("Reshape", [v, w.ints([1, -1, n, d])], allowzero=1)
        return w.node("Transpose", [r], perm=[0, 2, 1, 3])

    def rotary(v):
        axes = w.ints([3])
        lo = w.node("Slice", [v, w.ints([0]), w.ints([d // 2]), axes, w.ints([1])])
        hi = w.node("Slice", [v, w.ints([d // 2]), w.ints([INT64_MAX]), axes,
                              w.ints([1])])
        rot = w.node("Concat", [w.node("Neg", [hi]), lo], axis=-1)
        return w.node("Add", [w.node("Mul", [v, cos]), w.node("Mul", [rot, sin])])

    def repeat_kv(v):  # [1, kvh, seq, d] -> [1, heads, seq, d]
        if kvh == heads:
            return v
        u = w.node("Unsqueeze", [v, w.ints([2])])
        shape = w.node("Concat", [w.ints([1, kvh, heads // kvh]),
                                  w.node("Shape", [v], start=2)], axis=0)
        e = w.node("Expand", [u, shape])
        return w.node("Reshape", [e, w.ints([1, heads, -1, d])], allowzero=1)

    scale = w.const(np.array(1.0 / np.sqrt(d), np.float16))
    for i in range(layers):
        p = f"model.layers.{i}."
        y = rms_norm(x, p + "input_layernorm.weight")
        q = w.node("MatMul", [y, w.linear_weight(p + "self_attn.q_proj.weight", h, h)])
        k = w.node("MatMul", [y, w.linear_weight(p + "self_attn.k_proj.weight", h, kvh * d)])
        v = w.node("MatMul", [y, w.linear_weight(p + "self_attn.v_proj.weight", h, kvh * d)])
        q, k, v = split_heads(q, heads), split_heads(k, kvh), split_heads(v, kvh)
        q, k = rotary(q), rotary(k)
        k, v = repeat_kv(k), repeat_kv(v)
        s = w.node("MatMul", [q, w.node("Transpose", [k], perm=[0, 1, 3, 2])])
        s = w.node("Add", [w.node("Mul", [s, scale]), mask])
        o = w.node("MatMul", [w.node("Softmax", [s], axis=-1), v])
        o = w.node("Reshape", [w.node("Transpose", [o], perm=[0, 2, 1, 3]),
                               w.ints([1, -1, h])], allowzero=1)
        o = w.node("MatMul", [o, w.linear_weight(p + "self_attn.o_proj.weight", h, h)])
        x = w.node("Add", [x, o])
        y = rms_norm(x, p + "post_attention_layernorm.weight")
        gate = w.node("MatMul", [y, w.linear_weight(p + "mlp.gate_proj.weight", h, inter)])
        up = w.node("MatMul", [y, w.linear_weight(p + "mlp.up_proj.weight", h, inter)])
        act = w.node("Mul", [gate, w.node("Sigmoid", [gate])])
        down = w.node("MatMul", [w.node("Mul", [act, up]),
                                 w.linear_weight(p + "mlp.down_proj.weight", inter, h)])
        x = w.node("Add", [x, down])
        print(f"make_llama_shaped: block {i + 1}/{layers} written", file=sys.stderr)
    y = rms_norm(x, "model.norm.weight")
    logits = w.node("MatMul", [y, w.linear_weight("lm_head.weight", h, vocab)])
    w.nodes[-1].output[0] = "logits"
    w.data.close()

    graph = helper.make_graph(
        w.nodes, "llama_shaped",
        [helper.make_tensor_value_info(ids, TensorProto.INT64, [1, "seq"])],
        [helper.make_tensor_value_info("logits", f16, [1, "seq", vocab])],
        w.inits)
    model = helper.make_model(graph, producer_name="s10_testgen",
                              producer_version="1",
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = os.path.join(out_dir, "model.onnx")
    onnx.save(model, path)
    onnx.checker.check_model(path)
    return w.offset


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shape", required=True, choices=sorted(SHAPES))
    ap.add_argument("--layers", type=int, required=True,
                    help="decoder blocks to write (K)")
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    if a.layers < 1:
        ap.error("--layers must be at least 1")
    os.makedirs(a.out, exist_ok=True)
    cfg = SHAPES[a.shape]
    size = build(cfg, a.layers, a.out, a.seed)
    h, inter, kvh, heads = cfg["hidden"], cfg["inter"], cfg["kv_heads"], cfg["heads"]
    per_block = 2 * h * h + 2 * h * (h // heads) * kvh + 3 * h * inter
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump({"shape": a.shape, "layers": a.layers, "seed": a.seed,
                   "rms_eps": EPS, "rope_theta": THETA,
                   "linear_params_per_block": per_block,
                   "external_data_bytes": size, **cfg}, f, indent=1)
        f.write("\n")
    print(f"make_llama_shaped: {a.shape} with {a.layers} block(s): "
          f"{size / 2**20:.1f} MiB of fp16 weights in {a.out}")


if __name__ == "__main__":
    main()
