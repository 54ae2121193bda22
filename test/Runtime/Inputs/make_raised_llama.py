#!/usr/bin/env python3
"""Writes the raised (squeeze-level) form of a LLaMA ONNX export as MLIR.

Test/benchmark input for the executor while the raising pass is elsewhere:
the same computation as the imported graph, expressed with squeeze.embedding,
rms_norm, linear, rotary, attention and swiglu ops whose weights reference the
model's external data (squeeze.weight). Residual adds stay `onnx.node "Add"`,
as the raising pass leaves them.

usage: make_raised_llama.py MODEL.onnx [--config reference.json] [-o OUT]
"""
import argparse
import json
import os

import onnx
import onnx.numpy_helper

ELT = {onnx.TensorProto.FLOAT16: "f16", onnx.TensorProto.FLOAT: "f32",
       onnx.TensorProto.BFLOAT16: "bf16"}


def flt(x):
    """An MLIR float literal (always with a '.')."""
    s = repr(float(x))
    if "e" in s and "." not in s.split("e")[0]:
        m, e = s.split("e")
        s = m + ".0e" + e
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--config", help="reference.json with a 'config' object")
    ap.add_argument("-o", "--output", default="-")
    ap.add_argument("--max-positions", type=int, default=None)
    ap.add_argument("--exact-theta", action="store_true",
                    help="omit the graph's inv_freq table (the export rounds "
                         "it to f16); rotary then uses theta^(-2i/d)")
    args = ap.parse_args()

    model_dir = os.path.dirname(os.path.abspath(args.model))
    cfg_path = args.config or os.path.join(model_dir, "reference.json")
    cfg = json.load(open(cfg_path))["config"]
    hidden = cfg["hidden_size"]
    heads = cfg["num_attention_heads"]
    kv_heads = cfg["num_key_value_heads"]
    head_dim = hidden // heads
    inter = cfg["intermediate_size"]
    layers = cfg["num_hidden_layers"]
    vocab = cfg["vocab_size"]
    eps = cfg["rms_norm_eps"]
    theta = cfg.get("rope_parameters", {}).get("rope_theta", 10000.0)
    max_pos = args.max_positions or cfg.get("max_position_embeddings", 2048)

    m = onnx.load(args.model, load_external_data=False)
    inits = {t.name: t for t in m.graph.initializer}

    def storage(t):
        ext = {e.key: e.value for e in t.external_data}
        return ext["location"], int(ext.get("offset", 0)), int(ext["length"])

    # Linear weights: constant right operands of MatMul, in graph order:
    # per layer q, k, v, o, gate, up, down, then lm_head.
    linears = [n.input[1] for n in m.graph.node
               if n.op_type == "MatMul" and n.input[1] in inits]
    assert len(linears) == 7 * layers + 1, len(linears)

    # The rotary inverse frequencies: the constant [1, d/2, 1] left operand of
    # the MatMul that builds the angle table.
    inv_freq = None
    for n in m.graph.node:
        t = inits.get(n.input[0]) if n.op_type == "MatMul" else None
        if t is not None and list(t.dims) == [1, head_dim // 2, 1]:
            inv_freq = onnx.numpy_helper.to_array(t).astype("float32").ravel()
    rot_extra = ""
    if inv_freq is not None and not args.exact_theta:
        rot_extra = ", inv_freq = array<f32: %s>" % ", ".join(
            flt(v) for v in inv_freq)

    lines = []
    emit = lines.append
    names = {}

    def weight(name):
        if name in names:
            return names[name]
        t = inits[name]
        loc, off, length = storage(t)
        shape = "x".join(str(d) for d in t.dims)
        var = "%%w%d" % len(names)
        emit('    %s = squeeze.weight "%s" {storage = #squeeze.extern<"%s", '
             'offset = %d, length = %d>} : tensor<%sx%s>'
             % (var, name, loc, off, length, shape, ELT[t.data_type]))
        names[name] = (var, "tensor<%sx%s>" % (shape, ELT[t.data_type]))
        return names[name]

    counter = [0]

    def fresh():
        counter[0] += 1
        return "%%v%d" % counter[0]

    def act(n):
        return "tensor<1x?x%dxf32>" % n

    def linear(x, xdim, wname, outdim, block, kind):
        w, wt = weight(wname)
        y = fresh()
        emit("    %s = squeeze.linear %s, %s {weight_layout = "
             "#squeeze.weight_layout<in_out>, role = #squeeze.role<block = %d, "
             "kind = %s>} : (%s, %s) -> %s"
             % (y, x, w, block, kind, act(xdim), wt, act(outdim)))
        return y

    def rms(x, wname):
        w, wt = weight(wname)
        y = fresh()
        emit("    %s = squeeze.rms_norm %s, %s {epsilon = %s : f64} : "
             "(%s, %s) -> %s" % (y, x, w, flt(eps), act(hidden), wt, act(hidden)))
        return y

    def add(a, b, name):
        y = fresh()
        emit('    %s = onnx.node "Add"(%s, %s) {name = "%s"} : (%s, %s) -> %s'
             % (y, a, b, name, act(hidden), act(hidden), act(hidden)))
        return y

    table, table_t = weight("m.model.embed_tokens.weight")
    h = fresh()
    emit("    %s = squeeze.embedding %%input_ids, %s : (tensor<1x?xi64>, %s) -> %s"
         % (h, table, table_t, act(hidden)))
    kvdim = kv_heads * head_dim
    for i in range(layers):
        q_w, k_w, v_w, o_w, g_w, u_w, d_w = linears[7 * i:7 * i + 7]
        n = rms(h, "m.model.layers.%d.input_layernorm.weight" % i)
        q = linear(n, hidden, q_w, hidden, i, "q")
        k = linear(n, hidden, k_w, kvdim, i, "k")
        v = linear(n, hidden, v_w, kvdim, i, "v")
        qr, kr = fresh(), fresh()
        emit("    %s = squeeze.rotary %s {num_heads = %d : i64, head_dim = %d : "
             "i64, theta = %s : f64%s} : (%s) -> %s"
             % (qr, q, heads, head_dim, flt(theta), rot_extra, act(hidden), act(hidden)))
        emit("    %s = squeeze.rotary %s {num_heads = %d : i64, head_dim = %d : "
             "i64, theta = %s : f64%s} : (%s) -> %s"
             % (kr, k, kv_heads, head_dim, flt(theta), rot_extra, act(kvdim), act(kvdim)))
        a = fresh()
        emit("    %s = squeeze.attention %s, %s, %s {num_heads = %d : i64, "
             "num_kv_heads = %d : i64, head_dim = %d : i64, scale = %s : f64, "
             "causal} : (%s, %s, %s) -> %s"
             % (a, qr, kr, v, heads, kv_heads, head_dim, flt(head_dim ** -0.5),
                act(hidden), act(kvdim), act(kvdim), act(hidden)))
        o = linear(a, hidden, o_w, hidden, i, "o")
        h = add(h, o, "residual_attn_%d" % i)
        n2 = rms(h, "m.model.layers.%d.post_attention_layernorm.weight" % i)
        g = linear(n2, hidden, g_w, inter, i, "gate")
        u = linear(n2, hidden, u_w, inter, i, "up")
        s = fresh()
        emit("    %s = squeeze.swiglu %s, %s : (%s, %s) -> %s"
             % (s, g, u, act(inter), act(inter), act(inter)))
        d = linear(s, inter, d_w, hidden, i, "down")
        h = add(h, d, "residual_mlp_%d" % i)
    n = rms(h, "m.model.norm.weight")
    logits = linear(n, hidden, linears[-1], vocab, -1, "lm_head")
    emit("    return %s : %s" % (logits, act(vocab)))

    out = ['module attributes {squeeze.weights_dir = "%s", '
           'squeeze.max_positions = %d : i64} {' % (model_dir, max_pos),
           "  func.func @main(%%input_ids: tensor<1x?xi64>) -> %s {" % act(vocab)]
    out += lines
    out += ["  }", "}"]
    text = "\n".join(out) + "\n"
    if args.output == "-":
        print(text, end="")
    else:
        open(args.output, "w").write(text)


if __name__ == "__main__":
    main()
