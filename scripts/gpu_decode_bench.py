#!/usr/bin/env python3
"""Decode tokens/s of a LLaMA-2-7B-shaped model at batch 1: s10 artifacts
whose packed weights s10-synth-llama generates from seeds on this machine,
run through libs10rt's Python package (the decode step replayed as a CUDA
graph), beside PyTorch fp16 decode of the same shape with a static KV cache
(eager and as a CUDA graph), in the same run.

Each s10 artifact is also checked against itself: the logits of every
decode step must equal, within 1e-3 of their largest magnitude, those of
one prefill of the whole sequence (decode and prefill run different launch
shapes; the weights are random, so there is no reference model)."""
import argparse, json, os, subprocess, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))


def s10_decode(args, row):
    import numpy as np
    import s10

    # "FORMAT" runs the fused plan (residual adds and SwiGLU in the GEMVs),
    # "FORMAT:unfused" the same weights with every op its own launch.
    weights, _, variant = row.partition(":")
    path = os.path.join(args.work, "%s.%s.s10" % (args.shape, row.replace(":", ".")))
    cmd = [args.synth, "--shape", args.shape, "--weights", weights, "-o", path,
           "--json", path + ".json", "--quiet"]
    if variant == "unfused":
        cmd.append("--no-fuse")
    elif variant:
        raise ValueError("unknown variant '%s' (FORMAT or FORMAT:unfused)" % variant)
    if args.layers:
        cmd += ["--layers", str(args.layers)]
    if args.cases:
        cmd += ["--cases", args.cases, "--chip", args.chip]
    cmd += ["--max-positions", str(args.prompt + args.tokens)]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    res = json.load(open(path + ".json"))
    res["synth_seconds"] = time.perf_counter() - t0
    # Kernel launches of one decode step: a step each, and each attention's
    # KV append (captured once as a CUDA graph and replayed).
    if res["target"] != "cpu":
        res["launches_per_token"] = res["steps"] + res["layers"]
    try:
        t0 = time.perf_counter()
        model = s10.Model(path)
        res["open_seconds"] = time.perf_counter() - t0
        rng = np.random.default_rng(7)
        prompt = [int(x) for x in rng.integers(3, 256, args.prompt)]
        total = args.prompt + args.tokens
        with model.session(max_context=total) as s:
            t0 = time.perf_counter()
            s.prefill(prompt)
            res["prefill_seconds"] = time.perf_counter() - t0
            ids, steps = list(prompt), []
            last = np.asarray(s.last_logits())
            # One untimed step: the first one-token step captures the graph.
            tok = int(np.argmax(last))
            ids.append(tok)
            s.decode(tok)
            last = np.asarray(s.last_logits())
            steps.append(last.copy())
            t0 = time.perf_counter()
            for _ in range(args.tokens - 1):
                tok = int(np.argmax(last))
                ids.append(tok)
                s.decode(tok)
                last = np.asarray(s.last_logits())
                steps.append(last.copy())
            dt = time.perf_counter() - t0
        res["decode_tokens"] = args.tokens - 1
        res["decode_tokens_per_s"] = (args.tokens - 1) / dt
        # The same sequence in one prefill.
        with model.session(max_context=total) as s:
            rows = np.asarray(s.prefill(ids, all_logits=True))
        want = rows[args.prompt:]
        got = np.stack(steps)
        scale = float(np.max(np.abs(want)))
        diff = float(np.max(np.abs(got - want)))
        res["decode_vs_prefill_max_abs_diff"] = diff
        res["logits_scale"] = scale
        res["decode_vs_prefill_pass"] = bool(np.isfinite(scale) and
                                             diff <= 1e-3 * max(scale, 1.0))
        del model
    finally:
        for p in (path, path + ".json"):
            if os.path.exists(p):
                os.remove(p)
    print("s10 %-20s %.3f true bits (linear layers), %6.0f MiB, %s launches "
          "per token: decode %7.1f tokens/s; decode vs prefill logits %s "
          "(max |diff| %.3g of %.3g)"
          % (row, res["linear_true_bpw"], res["file_bytes"] / 2**20,
             res.get("launches_per_token", "-"), res["decode_tokens_per_s"],
             "agree" if res["decode_vs_prefill_pass"] else "DIFFER",
             res["decode_vs_prefill_max_abs_diff"], res["logits_scale"]),
          flush=True)
    return res


def torch_decode(args):
    """fp16 LLaMA decode in plain PyTorch: F.linear (cuBLAS), RMSNorm in
    fp32, rotate-half RoPE, a static KV cache read through a position mask
    (fixed shapes, so the step can be a CUDA graph)."""
    import torch
    import torch.nn.functional as F

    dims = {"llama2-7b": (32000, 4096, 32, 32, 32, 128, 11008),
            "llama2-70b": (32000, 8192, 80, 64, 8, 128, 28672),
            "tiny": (256, 128, 2, 4, 2, 32, 256)}[args.shape]
    V, H, L, nh, nkv, hd, I = dims
    if args.layers:
        L = args.layers
    dev = torch.device(args.torch_device)
    dt = torch.float16 if dev.type == "cuda" else torch.float32
    g = torch.Generator(device=dev).manual_seed(0)

    def w(o, i):
        return torch.randn(o, i, device=dev, dtype=dt, generator=g) * i ** -0.5

    layers = [dict(q=w(nh * hd, H), k=w(nkv * hd, H), v=w(nkv * hd, H),
                   o=w(H, nh * hd), gate=w(I, H), up=w(I, H), down=w(H, I),
                   n1=torch.ones(H, device=dev, dtype=dt),
                   n2=torch.ones(H, device=dev, dtype=dt)) for _ in range(L)]
    emb = torch.randn(V, H, device=dev, dtype=dt, generator=g)
    head, norm = w(V, H), torch.ones(H, device=dev, dtype=dt)
    T = args.prompt + args.tokens
    kc = torch.zeros(L, 1, nkv, T, hd, device=dev, dtype=dt)
    vc = torch.zeros_like(kc)
    inv = 1.0 / 10000 ** (torch.arange(0, hd, 2, device=dev).float() / hd)
    ang = torch.arange(T, device=dev).float()[:, None] * inv[None, :]
    cos, sin = ang.cos().to(dt), ang.sin().to(dt)
    steps_t = torch.arange(T, device=dev)

    def rms(x, wt):
        x32 = x.float()
        return (x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + 1e-5)
                ).to(dt) * wt

    def rope(x, pos):
        c, s = cos.index_select(0, pos), sin.index_select(0, pos)
        x1, x2 = x[..., : hd // 2], x[..., hd // 2:]
        return torch.cat((x1 * c - x2 * s, x2 * c + x1 * s), -1)

    def step(tok, pos):
        x = emb.index_select(0, tok)  # [1, H]
        mask = (steps_t <= pos).view(1, 1, 1, T)
        for l, p in enumerate(layers):
            h = rms(x, p["n1"])
            q = rope(F.linear(h, p["q"]).view(1, nh, 1, hd), pos)
            k = rope(F.linear(h, p["k"]).view(1, nkv, 1, hd), pos)
            v = F.linear(h, p["v"]).view(1, nkv, 1, hd)
            kc[l].index_copy_(2, pos, k)
            vc[l].index_copy_(2, pos, v)
            kk, vv = kc[l], vc[l]
            if nkv != nh:
                kk = kk.repeat_interleave(nh // nkv, 1)
                vv = vv.repeat_interleave(nh // nkv, 1)
            a = F.scaled_dot_product_attention(q, kk, vv, attn_mask=mask)
            x = x + F.linear(a.reshape(1, nh * hd), p["o"])
            h = rms(x, p["n2"])
            x = x + F.linear(F.silu(F.linear(h, p["gate"])) * F.linear(h, p["up"]),
                             p["down"])
        return F.linear(rms(x, norm), head)

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    res = {"dtype": str(dt).replace("torch.", ""), "device": str(dev)}
    weight_bytes = sum(t.numel() * t.element_size() for p in layers
                       for t in p.values()) + head.numel() * head.element_size()
    res["weight_bytes_per_token"] = weight_bytes
    with torch.inference_mode():
        tok = torch.tensor([1], device=dev)
        for t in range(args.prompt):  # the prompt, one token at a time
            step(tok, torch.tensor([t], device=dev))
        n = args.tokens - 1
        pos = torch.tensor([args.prompt], device=dev)
        logits = step(tok, pos)
        sync()
        t0 = time.perf_counter()
        for _ in range(n):
            tok = logits.argmax(-1)
            pos += 1
            logits = step(tok, pos)
        sync()
        res["eager_tokens_per_s"] = n / (time.perf_counter() - t0)
        print("PyTorch %s decode, eager:      %7.1f tokens/s"
              % (res["dtype"], res["eager_tokens_per_s"]), flush=True)
        if dev.type == "cuda":
            static_tok = torch.tensor([1], device=dev)
            static_pos = torch.tensor([args.prompt], device=dev)
            s = torch.cuda.Stream()
            s.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(s):
                for _ in range(2):
                    step(static_tok, static_pos)
            torch.cuda.current_stream().wait_stream(s)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                out = step(static_tok, static_pos)
            graph.replay()
            sync()
            t0 = time.perf_counter()
            for _ in range(n):
                static_tok.copy_(out.argmax(-1))
                static_pos += 1
                graph.replay()
            sync()
            res["graph_tokens_per_s"] = n / (time.perf_counter() - t0)
            print("PyTorch %s decode, CUDA graph: %7.1f tokens/s"
                  % (res["dtype"], res["graph_tokens_per_s"]), flush=True)
    del layers, kc, vc
    if dev.type == "cuda":
        torch.cuda.empty_cache()
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--synth", required=True, help="s10-synth-llama")
    ap.add_argument("--cases", help="gpu-inputs/cases (a cuda artifact); "
                    "without it, CPU artifacts")
    ap.add_argument("--chip", default="sm_90")
    ap.add_argument("--shape", default="llama2-7b")
    ap.add_argument("--layers", type=int, default=0, help="0: all")
    ap.add_argument("--weights",
                    default="kbit2-g128,ternary-g128-q8t,squeeze10,"
                    "kbit3-g256-q8,kbit2-g128:unfused",
                    help="comma-separated FORMAT (fused plan) or "
                    "FORMAT:unfused rows")
    ap.add_argument("--prompt", type=int, default=16)
    ap.add_argument("--tokens", type=int, default=129)
    ap.add_argument("--torch-device", default="cuda",
                    help="cuda, cpu, or none to skip PyTorch")
    ap.add_argument("--work", default=os.environ.get("TMPDIR", "/tmp"),
                    help="where the artifacts are written (and removed)")
    ap.add_argument("--json", required=True)
    args = ap.parse_args()

    res = {"shape": args.shape, "layers": args.layers or "all",
           "prompt_tokens": args.prompt, "decode_tokens": args.tokens - 1,
           "s10": {}, "errors": {}}
    status = 0
    for weights in args.weights.split(","):
        try:
            r = s10_decode(args, weights)
            res["s10"][weights] = r
            if not r["decode_vs_prefill_pass"]:
                status = 1
        except Exception as e:  # recorded; the other rows still run
            print("s10 %s: FAILED: %s" % (weights, e), flush=True)
            res["errors"][weights] = str(e)
            status = 1
    if args.torch_device != "none":
        try:
            res["torch"] = torch_decode(args)
        except Exception as e:
            print("PyTorch decode: FAILED: %s" % e, flush=True)
            res["errors"]["torch"] = str(e)
    t = res.get("torch", {})
    base = t.get("graph_tokens_per_s") or t.get("eager_tokens_per_s")
    for weights, r in res["s10"].items():
        if base:
            r["speedup_vs_torch"] = r["decode_tokens_per_s"] / base
            print("s10 %-14s x%.2f PyTorch %s decode (%s)" % (
                weights, r["speedup_vs_torch"], t["dtype"],
                "CUDA graph" if t.get("graph_tokens_per_s") else "eager"))
    json.dump(res, open(args.json, "w"), indent=2)
    return status


if __name__ == "__main__":
    sys.exit(main())
