#!/usr/bin/env python3
"""Writes ONNX LLaMA decoders shaped like PyTorch TorchScript / Optimum exports.

    /usr/bin/python3 python/s10_testgen/make_exports.py [--out DIR]

Needs Debian's python3-onnx and python3-numpy; uses onnxruntime as a second,
independent check when it can be imported (the files written are the same
either way). Deterministic: fixed seeds, fixed names. The default DIR is
test/Conversion/ONNXToSqueeze/Inputs.

torch is not needed: each graph is built node by node the way
torch.onnx.export(..., dynamo=False) (the TorchScript exporter, the path
Hugging Face Optimum took) writes a Hugging Face LlamaForCausalLM: node and
value names like /model/layers.0/self_attn/MatMul_output_0, small constants
as Constant nodes, sizes read at run time through Shape -> Gather, shape
vectors built by Concat of Unsqueezed scalars, linear weights folded into
transposed [in, out] initializers named onnx::MatMul_<n>, norm weights and
the embedding under their Hugging Face names, no value_info. All four share
one config: vocab 256, hidden 64, 4 heads of 16, 2 layers, MLP 128,
RMS eps 1e-5, rope theta 10000, 128 positions; batch 1 in the tests.

* ts_llama_gqa_op17: opset 17, 2 KV heads, external weights
  (ts_llama_gqa_op17.onnx.data). Mirrors transformers >= 4.38 eager
  attention: inputs input_ids, attention_mask, position_ids; the 4-D float
  causal mask of _update_causal_mask (ConstantOfShape(min), Trilu, Range,
  Greater, Expand, padding through Equal/Where); LlamaRotaryEmbedding in the
  graph (inv_freq MatMul position_ids, Cos, Sin); RMSNorm with rsqrt as
  Div(1, Sqrt); q/k/v viewed with -1 heads; repeat_kv as
  Unsqueeze/Expand/Reshape; scores / sqrt(head_dim) plus the sliced mask.
* ts_llama_mha_op14: opset 14, 4 KV heads, weights inline. Mirrors older
  transformers with SDPA attention and stored rotary tables: per-layer
  cos_cached/sin_cached [128, 16] initializers sliced to the sequence and
  gathered by position_ids; RMSNorm as Div(x, Sqrt(...)); q/k/v viewed with
  explicit heads; torch's opset-14 scaled_dot_product_attention symbolic
  (q and k^T each scaled by Sqrt(1/Sqrt(head_dim)), a boolean mask turned
  into Where(mask, 0, -inf) and added).
* past_llama_gqa_op17: Optimum's text-generation-with-past export in the
  style of the first: inputs past_key_values.{i}.key/value [batch, 2, past,
  16], outputs present.{i}.key/value (Concat of past and new, axis -2 as in
  DynamicCache.update), the mask over past + seq columns.
* past_llama_mha_op14: with past, in the style of the second, no
  position_ids input (positions are Range(past, past + seq)), presents by
  Concat axis 2, a boolean Trilu mask whose diagonal is the past length.

For each NAME: NAME.onnx (+ NAME.onnx.data), NAME.ref.f32 (the numpy
reference logits for the prompt, raw little-endian float32 [seq, vocab]) and
calib.ids holds seeded token ids to calibrate with and to score, and
calib.ref.json their reference perplexity (first 4 windows of 32). NAME.ref.json (ids, shape, config, 8 greedy tokens after the prompt, the
graph's error against the reference). Each graph is run on the prompt by a
small numpy interpreter (the with-past ones also in two chunks, the second
fed the first's presents) and compared with the reference before anything
is written.
"""

import argparse
import json
import os

# numpy's OpenBLAS picks its kernels by CPU, and they round differently;
# the portable SSE3 ones give the same reference bytes on any x86-64.
os.environ["OPENBLAS_CORETYPE"] = "Prescott"

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

INT64_MAX = 2**63 - 1
F32_MIN = float(np.finfo(np.float32).min)

VOCAB, HIDDEN, HEADS, HEAD_DIM, INTER, LAYERS = 256, 64, 4, 16, 128, 2
EPS, THETA, MAX_POS = 1e-5, 10000.0, 128
PROMPT = [1, 17, 42, 99, 123, 250, 7, 64, 200, 0, 150]
GREEDY_STEPS = 8
SPLIT = 7  # the chunked run of the with-past models: 7 tokens, then 4
SEEDS = {2: 20240702, 4: 20240703}  # weights by KV head count

MODELS = [
    # name, opset, kv heads, style, with past, external weights, first n of
    # onnx::MatMul_<n> (the exporter's value numbering, arbitrary here)
    ("ts_llama_gqa_op17", 17, 2, "torchscript_eager", False, True, 1583),
    ("ts_llama_mha_op14", 14, 4, "torchscript_sdpa_cached_rotary", False, False, 1021),
    ("past_llama_gqa_op17", 17, 2, "optimum_with_past_eager", True, True, 1862),
    ("past_llama_mha_op14", 14, 4, "optimum_with_past_sdpa_cached_rotary", True,
     False, 1288),
]


# ---------------------------------------------------------------------------
# Weights and the numpy reference
# ---------------------------------------------------------------------------

def make_weights(kv_heads):
    """Hugging Face layout: linear weights [out, in]."""
    rng = np.random.default_rng(SEEDS[kv_heads])

    def lin(out_f, in_f):
        return (rng.standard_normal((out_f, in_f)) / np.sqrt(in_f)).astype(np.float32)

    def norm():
        return (1.0 + 0.1 * rng.standard_normal(HIDDEN)).astype(np.float32)

    kv = kv_heads * HEAD_DIM
    w = {"model.embed_tokens.weight":
         (0.5 * rng.standard_normal((VOCAB, HIDDEN))).astype(np.float32)}
    for i in range(LAYERS):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = norm()
        w[p + "self_attn.q_proj.weight"] = lin(HIDDEN, HIDDEN)
        w[p + "self_attn.k_proj.weight"] = lin(kv, HIDDEN)
        w[p + "self_attn.v_proj.weight"] = lin(kv, HIDDEN)
        w[p + "self_attn.o_proj.weight"] = lin(HIDDEN, HIDDEN)
        w[p + "post_attention_layernorm.weight"] = norm()
        w[p + "mlp.gate_proj.weight"] = lin(INTER, HIDDEN)
        w[p + "mlp.up_proj.weight"] = lin(INTER, HIDDEN)
        w[p + "mlp.down_proj.weight"] = lin(HIDDEN, INTER)
    w["model.norm.weight"] = norm()
    w["lm_head.weight"] = lin(VOCAB, HIDDEN)
    return w


def inv_freq():
    return (1.0 / THETA ** (np.arange(0, HEAD_DIM, 2, dtype=np.float32)
                            / HEAD_DIM)).astype(np.float32)


def rotary_tables():
    """cos_cached / sin_cached of the older LlamaRotaryEmbedding: [MAX_POS, 16]."""
    t = np.arange(MAX_POS, dtype=np.float32)
    freqs = np.outer(t, inv_freq()).astype(np.float32)
    emb = np.concatenate([freqs, freqs], -1)
    return np.cos(emb).astype(np.float32), np.sin(emb).astype(np.float32)


def reference_logits(w, ids, kv_heads):
    """The decoder written directly in numpy (float32), independent of the graphs."""
    f32 = np.float32

    def rms(x, weight):
        return weight * (x / np.sqrt(np.mean(x * x, -1, keepdims=True) + f32(EPS)))

    def silu(x):
        return x / (f32(1) + np.exp(-x))

    seq, rep = len(ids), HEADS // kv_heads
    x = w["model.embed_tokens.weight"][np.array(ids)]
    ang = np.arange(seq, dtype=f32)[:, None] * inv_freq()[None, :]
    ang = np.concatenate([ang, ang], -1)
    cos, sin = np.cos(ang), np.sin(ang)
    causal = np.tril(np.ones((seq, seq), dtype=bool))

    def rope(t):  # [heads, seq, d]
        half = HEAD_DIM // 2
        rot = np.concatenate([-t[..., half:], t[..., :half]], -1)
        return t * cos + rot * sin

    def heads(t, n):
        return t.reshape(seq, n, HEAD_DIM).transpose(1, 0, 2)

    for i in range(LAYERS):
        p = f"model.layers.{i}."
        y = rms(x, w[p + "input_layernorm.weight"])
        q = heads(y @ w[p + "self_attn.q_proj.weight"].T, HEADS)
        k = heads(y @ w[p + "self_attn.k_proj.weight"].T, kv_heads)
        v = heads(y @ w[p + "self_attn.v_proj.weight"].T, kv_heads)
        q, k = rope(q), rope(k)
        # Query head j reads KV head j // rep.
        k, v = np.repeat(k, rep, axis=0), np.repeat(v, rep, axis=0)
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


def greedy(w, kv_heads):
    """GREEDY_STEPS argmax tokens after the prompt, re-running the whole prefix."""
    ids = list(PROMPT)
    for _ in range(GREEDY_STEPS):
        ids.append(int(np.argmax(reference_logits(w, ids, kv_heads)[-1])))
    return ids[len(PROMPT):]


# ---------------------------------------------------------------------------
# Graph construction
# ---------------------------------------------------------------------------

class GraphBuilder:
    """Names nodes and values the way PyTorch's TorchScript exporter does."""

    def __init__(self, first_matmul):
        self.nodes, self.counts = [], {}
        self.named, self.folded = [], []  # HF-named initializers, onnx::MatMul_*
        self.next_matmul = first_matmul

    def node(self, op, inputs, scope, outputs=None, **attrs):
        key = (scope, op)
        k = self.counts.get(key, 0)
        self.counts[key] = k + 1
        name = f"{scope}/{op}" if k == 0 else f"{scope}/{op}_{k}"
        outs = outputs or [f"{name}_output_0"]
        self.nodes.append(helper.make_node(op, inputs, outs, name=name, **attrs))
        return outs[0]

    def const(self, scope, value):
        return self.node("Constant", [], scope,
                         value=numpy_helper.from_array(np.asarray(value), ""))

    def ints(self, scope, values):  # 1-D int64
        return self.const(scope, np.array(values, dtype=np.int64))

    def i64(self, scope, value):  # 0-D int64, as a traced Python int
        return self.const(scope, np.array(value, dtype=np.int64))

    def f32(self, scope, value):  # 0-D float, as a traced Python float
        return self.const(scope, np.array(value, dtype=np.float32))

    def named_initializer(self, name, array):
        self.named.append(numpy_helper.from_array(array, name))
        return name

    def matmul_weight(self, hf_weight):
        # Constant folding turns nn.Linear's weight.t() into a new [in, out]
        # initializer named after the MatMul input it feeds.
        name = f"onnx::MatMul_{self.next_matmul}"
        self.next_matmul += 1
        self.folded.append(numpy_helper.from_array(
            np.ascontiguousarray(hf_weight.T), name))
        return name

    # -- traced size arithmetic ---------------------------------------------

    def dim(self, x, axis, scope, shape=None):
        """x.shape[axis]: Gather(Shape(x), axis) -> int64 scalar."""
        shape = shape or self.node("Shape", [x], scope)
        return self.node("Gather", [shape, self.i64(scope, axis)], scope, axis=0)

    def unsqueeze(self, x, axes, scope):
        return self.node("Unsqueeze", [x, self.ints(scope, axes)], scope)

    def shape_vector(self, parts, scope):
        """A traced list of sizes: ints become Constant [v], scalars Unsqueeze."""
        items = [self.ints(scope, [p]) if isinstance(p, int)
                 else self.unsqueeze(p, [0], scope) for p in parts]
        return self.node("Concat", items, scope, axis=0)

    def reshape(self, x, shape, scope):
        # torch's _reshape_helper sets allowzero=0 explicitly from opset 14.
        return self.node("Reshape", [x, shape], scope, allowzero=0)

    def expand(self, x, parts, scope):
        """torch's aten::expand symbolic for a traced size list: the list is
        stacked, -1 entries become 1 through Equal/Where (ONNX Expand has no
        -1), then Expand."""
        size = self.reshape(self.shape_vector(parts, scope), self.ints(scope, [-1]),
                            scope)
        ones = self.node("ConstantOfShape", [self.node("Shape", [size], scope)], scope,
                         value=numpy_helper.from_array(np.array([1], np.int64), ""))
        neg = self.node("Mul", [ones, self.i64(scope, -1)], scope)
        is_neg = self.node("Equal", [size, neg], scope)
        size = self.node("Where", [is_neg, ones, size], scope)
        return self.node("Expand", [x, size], scope)

    def slice(self, x, starts, ends, axes, steps, scope):
        ins = [x, starts, ends] + ([axes] if axes else []) + ([steps] if steps else [])
        return self.node("Slice", ins, scope)


def rms_norm(g, h, weight, scope, div_form):
    x = g.node("Cast", [h], scope, to=TensorProto.FLOAT)
    var = g.node("ReduceMean", [g.node("Pow", [x, g.f32(scope, 2.0)], scope)], scope,
                 axes=[-1], keepdims=1)
    root = g.node("Sqrt", [g.node("Add", [var, g.f32(scope, EPS)], scope)], scope)
    if div_form:
        n = g.node("Div", [x, root], scope)
    else:
        # aten::rsqrt -> Div(torch.ones(1), Sqrt(x)): the 1 has shape [1].
        r = g.node("Div", [g.const(scope, np.ones([1], np.float32)), root], scope)
        n = g.node("Mul", [x, r], scope)
    return g.node("Mul", [weight, g.node("Cast", [n], scope, to=TensorProto.FLOAT)],
                  scope)


def rotate_half(g, x, scope):
    half = HEAD_DIM // 2
    axes = lambda: g.ints(scope, [3])  # noqa: E731 (x[..., a:b] on 4-D: axis 3)
    x1 = g.slice(x, g.ints(scope, [0]), g.ints(scope, [half]), axes(),
                 g.ints(scope, [1]), scope)
    x2 = g.slice(x, g.ints(scope, [half]), g.ints(scope, [INT64_MAX]), axes(),
                 g.ints(scope, [1]), scope)
    return g.node("Concat", [g.node("Neg", [x2], scope), x1], scope, axis=-1)


def apply_rotary(g, x, cos, sin, scope):
    return g.node("Add", [g.node("Mul", [x, cos], scope),
                          g.node("Mul", [rotate_half(g, x, scope), sin], scope)], scope)


def build(name, opset, kv_heads, past, w, first_matmul):
    """One of the four graphs; eager (opset 17) or SDPA (opset 14) style."""
    eager = opset == 17
    g = GraphBuilder(first_matmul)
    top = "/model"
    rep = HEADS // kv_heads

    # Initializers in state-dict order; the linears are added as used.
    g.named_initializer("model.embed_tokens.weight", w["model.embed_tokens.weight"])
    if not eager:
        cos_cached, sin_cached = rotary_tables()
    for i in range(LAYERS):
        p = f"model.layers.{i}."
        if not eager:
            g.named_initializer(p + "self_attn.rotary_emb.cos_cached", cos_cached)
            g.named_initializer(p + "self_attn.rotary_emb.sin_cached", sin_cached)
        g.named_initializer(p + "input_layernorm.weight", w[p + "input_layernorm.weight"])
        g.named_initializer(p + "post_attention_layernorm.weight",
                            w[p + "post_attention_layernorm.weight"])
    g.named_initializer("model.norm.weight", w["model.norm.weight"])

    ids, amask = "input_ids", "attention_mask"
    pos_ids = "position_ids" if (eager or not past) else None
    h = g.node("Gather", ["model.embed_tokens.weight", ids], top + "/embed_tokens")

    ids_shape = g.node("Shape", [ids], top)
    b = g.dim(ids, 0, top, ids_shape)
    s = g.dim(ids, 1, top, ids_shape)
    if past:
        past_len = g.dim("past_key_values.0.key", 2, top)
        total = g.node("Add", [past_len, s], top)
    else:
        past_len, total = None, s

    if not eager and past:
        # No position_ids input: arange(past, past + seq).unsqueeze(0).
        pos_ids = g.unsqueeze(
            g.node("Range", [past_len, total, g.i64(top, 1)], top), [0], top)

    # The attention mask, built once.
    if eager:
        # _update_causal_mask: min above the diagonal (offset by the past),
        # then min where attention_mask is 0.
        full = g.node("ConstantOfShape", [g.shape_vector([s, total], top)], top,
                      value=numpy_helper.from_array(np.array([F32_MIN], np.float32), ""))
        tri = g.node("Trilu", [full, g.i64(top, 1)], top, upper=1)
        start = past_len if past else g.i64(top, 0)
        cache_position = g.node("Range", [start, total, g.i64(top, 1)], top)
        cols = g.node("Range", [g.i64(top, 0), total, g.i64(top, 1)], top)
        gt = g.node("Greater", [cols, g.reshape(cache_position,
                                                g.ints(top, [-1, 1]), top)], top)
        causal = g.node("Mul", [tri, g.node("Cast", [gt], top, to=TensorProto.FLOAT)],
                        top)
        causal4 = g.expand(g.unsqueeze(causal, [0, 1], top), [b, 1, -1, -1], top)
        pad = g.node("Cast", [g.unsqueeze(amask, [1, 2], top)], top,
                     to=TensorProto.FLOAT)
        padded = g.node("Add", [causal4, pad], top)
        is_pad = g.node("Equal", [padded, g.f32(top, 0.0)], top)
        mask = g.node("Where", [is_pad, g.f32(top, F32_MIN), causal4], top)
    else:
        # A boolean [b, 1, seq, total] mask: tril (diagonal = past) and padding.
        ones = g.node("ConstantOfShape", [g.shape_vector([s, total], top)], top,
                      value=numpy_helper.from_array(np.array([1], np.int64), ""))
        tril_in = [ones, past_len] if past else [ones]
        tril = g.node("Cast", [g.node("Trilu", tril_in, top, upper=0)], top,
                      to=TensorProto.BOOL)
        pad = g.node("Cast", [g.unsqueeze(amask, [1, 2], top)], top, to=TensorProto.BOOL)
        mask = g.node("And", [g.unsqueeze(tril, [0, 1], top), pad], top)

    # LlamaRotaryEmbedding(x, position_ids) of transformers >= 4.38, once.
    if eager:
        r = top + "/rotary_emb"
        inv = g.unsqueeze(g.const(r, inv_freq()), [0, 2], r)
        inv_exp = g.expand(inv, [g.dim(pos_ids, 0, r), -1, 1], r)
        pos_exp = g.node("Cast", [g.unsqueeze(pos_ids, [1], r)], r, to=TensorProto.FLOAT)
        freqs = g.node("Transpose", [g.node("MatMul", [inv_exp, pos_exp], r)], r,
                       perm=[0, 2, 1])
        emb = g.node("Concat", [freqs, freqs], r, axis=-1)
        cos, sin = g.node("Cos", [emb], r), g.node("Sin", [emb], r)

    presents = []
    for i in range(LAYERS):
        p = f"model.layers.{i}."
        ls = f"{top}/layers.{i}"
        a = ls + "/self_attn"
        y = rms_norm(g, h, p + "input_layernorm.weight", ls + "/input_layernorm",
                     div_form=not eager)

        # bsz, q_len = hidden_states.shape[:2]
        y_shape = g.node("Shape", [y], a)
        ab, asq = g.dim(y, 0, a, y_shape), g.dim(y, 1, a, y_shape)

        def heads(proj, n):
            weight = g.matmul_weight(w[p + f"self_attn.{proj}_proj.weight"])
            x = g.node("MatMul", [y, weight], f"{a}/{proj}_proj")
            # view(*input_shape, -1, head_dim) (eager) or view(b, s, n, head_dim).
            shape = g.shape_vector([ab, asq, -1 if eager else n, HEAD_DIM], a)
            return g.node("Transpose", [g.reshape(x, shape, a)], a, perm=[0, 2, 1, 3])

        q, k, v = heads("q", HEADS), heads("k", kv_heads), heads("v", kv_heads)

        if eager:
            cos_l, sin_l = g.unsqueeze(cos, [1], a), g.unsqueeze(sin, [1], a)
        else:
            # kv_seq_len = key_states.shape[-2] (+ the past); rotary_emb(v, kv_seq_len)
            # returns cos_cached[:kv_seq_len]; then cos[position_ids].unsqueeze(1).
            kv_len = g.dim(k, 2, a)
            if past:
                kv_len = g.node("Add", [kv_len,
                                        g.dim(f"past_key_values.{i}.key", 2, a)], a)
            re = a + "/rotary_emb"
            tables = []
            for table in ("cos_cached", "sin_cached"):
                tables.append(g.slice(p + "self_attn.rotary_emb." + table,
                                      g.ints(re, [0]), g.unsqueeze(kv_len, [0], re),
                                      g.ints(re, [0]), g.ints(re, [1]), re))
            cos_l, sin_l = (g.unsqueeze(g.node("Gather", [t, pos_ids], a, axis=0), [1], a)
                            for t in tables)
        q = apply_rotary(g, q, cos_l, sin_l, a)
        k = apply_rotary(g, k, cos_l, sin_l, a)

        if past:
            # DynamicCache.update concatenates on dim -2; older code used dim=2.
            cat_axis = -2 if eager else 2
            k = g.node("Concat", [f"past_key_values.{i}.key", k], a,
                       outputs=[f"present.{i}.key"], axis=cat_axis)
            v = g.node("Concat", [f"past_key_values.{i}.value", v], a,
                       outputs=[f"present.{i}.value"], axis=cat_axis)
            presents += [k, v]

        if eager:
            def repeat_kv(x):
                x_shape = g.node("Shape", [x], a)
                xb, xs = g.dim(x, 0, a, x_shape), g.dim(x, 2, a, x_shape)
                e = g.expand(g.unsqueeze(x, [2], a), [xb, kv_heads, rep, xs, HEAD_DIM], a)
                return g.reshape(e, g.shape_vector([xb, HEADS, xs, HEAD_DIM], a), a)

            k, v = repeat_kv(k), repeat_kv(v)
            kt = g.node("Transpose", [k], a, perm=[0, 1, 3, 2])
            scores = g.node("Div", [g.node("MatMul", [q, kt], a),
                                    g.f32(a, float(np.sqrt(HEAD_DIM)))], a)
            # attention_mask[:, :, :, : key_states.shape[-2]]
            end = g.unsqueeze(g.dim(k, 2, a), [0], a)
            mslice = g.slice(mask, g.ints(a, [0]), end, g.ints(a, [3]),
                             g.ints(a, [1]), a)
            scores = g.node("Add", [scores, mslice], a)
            probs = g.node("Cast", [g.node("Softmax", [scores], a, axis=-1)], a,
                           to=TensorProto.FLOAT)
            o = g.node("MatMul", [probs, v], a)
        else:
            # torch's opset-14 scaled_dot_product_attention symbolic.
            q_last = g.slice(g.node("Shape", [q], a), g.ints(a, [-1]),
                             g.ints(a, [INT64_MAX]), None, None, a)
            embed = g.node("Cast", [q_last], a, to=TensorProto.FLOAT)
            scale = g.node("Div", [g.const(a, np.ones([1], np.float32)),
                                   g.node("Sqrt", [embed], a)], a)
            kt = g.node("Transpose", [k], a, perm=[0, 1, 3, 2])
            qs = g.node("Mul", [q, g.node("Sqrt", [scale], a)], a)
            ks = g.node("Mul", [kt, g.node("Sqrt", [scale], a)], a)
            qk = g.node("MatMul", [qs, ks], a)
            bias = g.node("Where", [mask, g.const(a, np.zeros([1], np.float32)),
                                    g.const(a, np.array([-np.inf], np.float32))], a)
            probs = g.node("Softmax", [g.node("Add", [qk, bias], a)], a, axis=-1)
            o = g.node("MatMul", [probs, v], a)

        o = g.node("Transpose", [o], a, perm=[0, 2, 1, 3])
        o = g.reshape(o, g.shape_vector([ab, asq, -1 if eager else HIDDEN], a), a)
        o = g.node("MatMul", [o, g.matmul_weight(w[p + "self_attn.o_proj.weight"])],
                   a + "/o_proj")
        h = g.node("Add", [h, o], ls)

        y = rms_norm(g, h, p + "post_attention_layernorm.weight",
                     ls + "/post_attention_layernorm", div_form=not eager)
        m = ls + "/mlp"
        gate = g.node("MatMul", [y, g.matmul_weight(w[p + "mlp.gate_proj.weight"])],
                      m + "/gate_proj")
        act = g.node("Mul", [gate, g.node("Sigmoid", [gate], m + "/act_fn")],
                     m + "/act_fn")
        up = g.node("MatMul", [y, g.matmul_weight(w[p + "mlp.up_proj.weight"])],
                    m + "/up_proj")
        down = g.node("MatMul", [g.node("Mul", [act, up], m),
                                 g.matmul_weight(w[p + "mlp.down_proj.weight"])],
                      m + "/down_proj")
        h = g.node("Add", [h, down], ls)

    y = rms_norm(g, h, "model.norm.weight", top + "/norm", div_form=not eager)
    g.node("MatMul", [y, g.matmul_weight(w["lm_head.weight"])], "/lm_head",
           outputs=["logits"])

    vi = helper.make_tensor_value_info
    seq_cols = "total" if past else "seq"
    inputs = [vi(ids, TensorProto.INT64, ["batch", "seq"]),
              vi(amask, TensorProto.INT64, ["batch", seq_cols])]
    if pos_ids == "position_ids":
        inputs.append(vi(pos_ids, TensorProto.INT64, ["batch", "seq"]))
    outputs = [vi("logits", TensorProto.FLOAT, ["batch", "seq", VOCAB])]
    if past:
        for i in range(LAYERS):
            for kind in ("key", "value"):
                inputs.append(vi(f"past_key_values.{i}.{kind}", TensorProto.FLOAT,
                                 ["batch", kv_heads, "past", HEAD_DIM]))
                outputs.append(vi(f"present.{i}.{kind}", TensorProto.FLOAT,
                                  ["batch", kv_heads, "total", HEAD_DIM]))
    graph = helper.make_graph(g.nodes, "main_graph", inputs, outputs,
                              g.named + g.folded)
    model = helper.make_model(graph, producer_name="s10_testgen", producer_version="1",
                              opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model


# ---------------------------------------------------------------------------
# A numpy interpreter for the ops above
# ---------------------------------------------------------------------------

NP_TYPES = {TensorProto.FLOAT: np.float32, TensorProto.INT64: np.int64,
            TensorProto.BOOL: np.bool_, TensorProto.INT32: np.int32}


def run_graph(model, feeds):
    env = dict(feeds)
    for t in model.graph.initializer:
        env[t.name] = numpy_helper.to_array(t)
    for n in model.graph.node:
        a = {x.name: helper.get_attribute_value(x) for x in n.attribute}
        i = [env[x] if x else None for x in n.input]
        op = n.op_type
        if op == "Constant":
            r = numpy_helper.to_array(a["value"])
        elif op == "Gather":
            r = np.take(i[0], i[1], axis=a.get("axis", 0))
        elif op == "Shape":
            r = np.array(i[0].shape, dtype=np.int64)
        elif op == "Reshape":
            shape = [i[0].shape[k] if d == 0 and not a.get("allowzero", 0) else d
                     for k, d in enumerate(i[1].tolist())]
            r = i[0].reshape(shape)
        elif op == "Range":
            r = np.arange(i[0], i[1], i[2], dtype=i[0].dtype)
        elif op == "Cast":
            r = i[0].astype(NP_TYPES[a["to"]])
        elif op == "Unsqueeze":
            r = np.expand_dims(i[0], tuple(int(x) for x in i[1]))
        elif op == "Concat":
            r = np.concatenate(i, a["axis"])
        elif op == "Slice":
            x = i[0]
            axes = i[3] if len(i) > 3 and i[3] is not None else range(len(i[1]))
            steps = i[4] if len(i) > 4 and i[4] is not None else [1] * len(i[1])
            sl = [slice(None)] * x.ndim
            # Python's slice clamping matches ONNX for these starts/ends.
            for st, en, ax, sp in zip(i[1], i[2], axes, steps):
                sl[int(ax) % x.ndim] = slice(int(st), int(en), int(sp))
            r = x[tuple(sl)]
        elif op == "ConstantOfShape":
            value = numpy_helper.to_array(a["value"])
            r = np.full(tuple(int(d) for d in i[0]), value[0], dtype=value.dtype)
        elif op == "Trilu":
            k = int(i[1]) if len(i) > 1 and i[1] is not None else 0
            r = np.triu(i[0], k) if a.get("upper", 1) else np.tril(i[0], k)
        elif op == "Expand":
            shape = np.broadcast_shapes(i[0].shape, tuple(int(d) for d in i[1]))
            r = np.broadcast_to(i[0], shape)
        elif op == "Transpose":
            r = i[0].transpose(a["perm"])
        elif op == "ReduceMean":
            r = i[0].mean(tuple(a["axes"]), keepdims=bool(a.get("keepdims", 1)))
        elif op == "Softmax":
            e = np.exp(i[0] - i[0].max(a["axis"], keepdims=True))
            r = e / e.sum(a["axis"], keepdims=True)
        elif op == "Where":
            r = np.where(*i)
        else:
            fn = {"Mul": np.multiply, "Add": np.add, "Div": np.divide,
                  "Pow": np.power, "Sqrt": np.sqrt, "Neg": np.negative,
                  "MatMul": np.matmul, "Cos": np.cos, "Sin": np.sin,
                  "Greater": np.greater, "Equal": np.equal, "And": np.logical_and,
                  "Sigmoid": lambda x: 1 / (1 + np.exp(-x))}[op]
            r = fn(*i)
        r = np.asarray(r)
        if r.dtype == np.float64:
            r = r.astype(np.float32)
        env[n.output[0]] = r
    return {o.name: env[o.name] for o in model.graph.output}


def feeds_for(model, ids, start=0, past=None):
    """Graph inputs for ids at positions start.. after `past` (present.* by layer)."""
    ids = np.array([ids], dtype=np.int64)
    names = [x.name for x in model.graph.input]
    total = start + ids.shape[1]
    feeds = {"input_ids": ids,
             "attention_mask": np.ones((1, total), dtype=np.int64)}
    if "position_ids" in names:
        feeds["position_ids"] = np.arange(start, total, dtype=np.int64)[None, :]
    for x in model.graph.input:
        if x.name.startswith("past_key_values."):
            if past is None:
                kv = x.type.tensor_type.shape.dim[1].dim_value
                feeds[x.name] = np.zeros((1, kv, 0, HEAD_DIM), np.float32)
            else:
                feeds[x.name] = past[x.name.replace("past_key_values.", "present.")]
    return feeds


def max_err(got, ref):
    err = float(np.abs(got - ref).max())
    tol = 1e-4 * max(1.0, float(np.abs(ref).max()))
    return err, tol


def check_chunked(run, model, ref, kv_heads):
    """Prompt in two calls, the second fed the first's presents."""
    first = run(feeds_for(model, PROMPT[:SPLIT]))
    second = run(feeds_for(model, PROMPT[SPLIT:], SPLIT, first))
    got = np.concatenate([first["logits"][0], second["logits"][0]], 0)
    for i in range(LAYERS):
        for kind in ("key", "value"):
            shape = second[f"present.{i}.{kind}"].shape
            assert shape == (1, kv_heads, len(PROMPT), HEAD_DIM), shape
    return max_err(got, ref)


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------

def type_desc(value_info):
    t = value_info.type.tensor_type
    return {"name": value_info.name,
            "dtype": TensorProto.DataType.Name(t.elem_type).lower(),
            "shape": [d.dim_param or d.dim_value for d in t.shape.dim]}


def onnxruntime_runner(path):
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    runners = []
    for level in (ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
                  ort.GraphOptimizationLevel.ORT_ENABLE_ALL):
        opts = ort.SessionOptions()
        opts.graph_optimization_level = level
        sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        names = [o.name for o in sess.get_outputs()]
        runners.append(lambda feeds, sess=sess, names=names:
                       dict(zip(names, sess.run(names, feeds))))
    return runners


def write_model(out, name, opset, kv_heads, style, past, external, first_matmul):
    w = make_weights(kv_heads)
    model = build(name, opset, kv_heads, past, w, first_matmul)
    onnx.shape_inference.infer_shapes(model, strict_mode=True)
    ref = reference_logits(w, PROMPT, kv_heads)

    run = lambda feeds: run_graph(model, feeds)  # noqa: E731
    got = run(feeds_for(model, PROMPT))
    assert got["logits"].shape == (1, len(PROMPT), VOCAB), got["logits"].shape
    err, tol = max_err(got["logits"][0], ref)
    assert err < tol, (name, err, tol)
    chunked_err = None
    if past:
        chunked_err, tol = check_chunked(run, model, ref, kv_heads)
        assert chunked_err < tol, (name, chunked_err, tol)

    path = os.path.join(out, name + ".onnx")
    data = name + ".onnx.data"
    if os.path.exists(os.path.join(out, data)):
        os.remove(os.path.join(out, data))  # onnx appends to an existing file
    info = {"inputs": [type_desc(x) for x in model.graph.input],
            "outputs": [type_desc(x) for x in model.graph.output],
            "node_count": len(model.graph.node)}
    if external:
        onnx.save_model(model, path, save_as_external_data=True,
                        all_tensors_to_one_file=True, location=data,
                        size_threshold=1024)
    else:
        onnx.save(model, path)
    onnx.checker.check_model(path, full_check=True)

    ort_errs = []
    runners = onnxruntime_runner(path)
    for ort_run in runners or []:
        e, tol = max_err(ort_run(feeds_for(model, PROMPT))["logits"][0], ref)
        assert e < tol, (name, "onnxruntime", e, tol)
        ort_errs.append(e)
        if past:
            e, tol = check_chunked(ort_run, model, ref, kv_heads)
            assert e < tol, (name, "onnxruntime chunked", e, tol)
            ort_errs.append(e)

    ref.astype("<f4").tofile(os.path.join(out, name + ".ref.f32"))
    config = {"vocab": VOCAB, "hidden": HIDDEN, "heads": HEADS, "kv_heads": kv_heads,
              "head_dim": HEAD_DIM, "intermediate": INTER, "layers": LAYERS,
              "rms_eps": EPS, "rope_theta": THETA, "max_positions": MAX_POS,
              "opset": opset, "style": style, "with_past": past,
              "external_data": data if external else None,
              "weights_seed": SEEDS[kv_heads]}
    config.update(info)
    doc = {"ids": PROMPT, "logits_shape": [1, len(PROMPT), VOCAB],
           "logits_file": name + ".ref.f32", "config": config,
           "greedy": greedy(w, kv_heads),
           "graph_vs_reference_max_abs_err": err}
    if past:
        doc["chunked"] = {"split": SPLIT,
                          "graph_vs_reference_max_abs_err": chunked_err}
    with open(os.path.join(out, name + ".ref.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"{name}: {info['node_count']} nodes, graph err {err:.3g}"
          + (f", chunked err {chunked_err:.3g}" if past else "")
          + (f", onnxruntime err max {max(ort_errs):.3g}" if ort_errs else "")
          + f", greedy {doc['greedy']}")
    return runners is not None


PPL_SEQLEN, PPL_WINDOWS = 32, 4


def reference_perplexity(w, ids, kv_heads):
    """exp of the mean NLL of the seqlen - 1 predictions of each of the first
    PPL_WINDOWS non-overlapping windows, each window run alone."""
    nll, count = 0.0, 0
    for k in range(PPL_WINDOWS):
        win = [int(t) for t in ids[k * PPL_SEQLEN:(k + 1) * PPL_SEQLEN]]
        logits = reference_logits(w, win, kv_heads).astype(np.float64)
        logits -= logits.max(-1, keepdims=True)
        logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
        nll -= sum(logp[t, win[t + 1]] for t in range(PPL_SEQLEN - 1))
        count += PPL_SEQLEN - 1
    return float(np.exp(nll / count))


def write_calibration_ids(out):
    """calib.ids: 4096 seeded token ids for squeeze10-quantize's calib= and
    s10-run --perplexity (these models have no SentencePiece tokenizer), 16
    per line; calib.ref.json: the reference perplexity of both weight sets
    over its first windows."""
    ids = np.random.default_rng(20261130).integers(0, VOCAB, 4096)
    with open(os.path.join(out, "calib.ids"), "w") as f:
        for i in range(0, len(ids), 16):
            f.write(" ".join(str(int(t)) for t in ids[i:i + 16]) + "\n")
    ppl = {name: round(reference_perplexity(make_weights(kv), ids, kv), 4)
           for name, kv in (("gqa", 2), ("mha", 4))}
    with open(os.path.join(out, "calib.ref.json"), "w") as f:
        json.dump({"seqlen": PPL_SEQLEN, "windows": PPL_WINDOWS,
                   "perplexity": ppl}, f, indent=1, sort_keys=True)
        f.write("\n")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_out = os.path.join(here, "..", "..", "test", "Conversion", "ONNXToSqueeze",
                               "Inputs")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.normpath(default_out))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    checked = [write_model(args.out, *m) for m in MODELS]
    write_calibration_ids(args.out)
    print(f"onnxruntime_checked: {str(all(checked)).lower()}")


if __name__ == "__main__":
    main()
