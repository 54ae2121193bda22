#!/usr/bin/env python3
"""Exports a tiny random-weight Hugging Face LlamaForCausalLM with PyTorch's
exporters, the way published ONNX LLaMA files were made.

    python python/s10_testgen/export_torch.py [--out DIR]

Needs torch, transformers and onnxscript (a virtual environment: `pip
install torch transformers onnxscript`); CI does not run it, the files it wrote are committed under
test/Conversion/ONNXToSqueeze/Inputs/torch with the versions that wrote them
in each .ref.json. The model: vocab 256, hidden 64, 4 query heads and 2 KV
heads of 16, 2 layers, MLP 128, RMS eps 1e-5, rope theta 10000, seed 0.
Writes, for each NAME:

* torch_eager_op17: torch.onnx.export(dynamo=False), opset 17, eager
  attention; inputs input_ids, attention_mask, position_ids.
* torch_sdpa_op14: the same with scaled-dot-product attention, opset 14.
* torch_dynamo_op18: torch.onnx.export(dynamo=True), opset 18, eager
  attention, the sequence length dynamic.
* torch_past_op17: eager attention with the KV cache as inputs
  past_key_values.{i}.key/value and outputs present.{i}.key/value (Optimum's
  text-generation-with-past layout), traced with a 3-position past.

NAME.onnx, NAME.ref.f32 (PyTorch's logits for the prompt from an empty
cache, raw little-endian float32 [11, 256]) and NAME.ref.json (versions,
prompt, 8 greedy tokens from PyTorch).
"""

import argparse
import json
import os
import warnings

import torch
import transformers
from transformers import DynamicCache, LlamaConfig, LlamaForCausalLM

PROMPT = [1, 17, 42, 99, 123, 250, 7, 64, 200, 0, 150]
GREEDY_STEPS = 8


def config(attn):
    cfg = LlamaConfig(vocab_size=256, hidden_size=64, intermediate_size=128,
                      num_hidden_layers=2, num_attention_heads=4,
                      num_key_value_heads=2, max_position_embeddings=128,
                      rms_norm_eps=1e-5, rope_theta=10000.0,
                      tie_word_embeddings=False)
    cfg._attn_implementation = attn
    return cfg


class Plain(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, position_ids):
        return self.model(input_ids=input_ids, attention_mask=attention_mask,
                          position_ids=position_ids, use_cache=False).logits


class WithPast(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, position_ids, *past):
        cfg = self.model.config
        cache = DynamicCache(config=cfg)
        for i in range(cfg.num_hidden_layers):
            cache.update(past[2 * i], past[2 * i + 1], i)
        out = self.model(input_ids=input_ids, attention_mask=attention_mask,
                         position_ids=position_ids, past_key_values=cache,
                         use_cache=True)
        present = []
        for layer in out.past_key_values.layers:
            present += [layer.keys, layer.values]
        return (out.logits, *present)


def export(out, name, attn, opset, with_past, dynamo=False):
    torch.manual_seed(0)
    cfg = config(attn)
    model = LlamaForCausalLM(cfg).eval()
    ids = torch.tensor([PROMPT])
    past_len = 3 if with_past else 0
    mask = torch.ones(1, past_len + len(PROMPT), dtype=torch.long)
    pos = torch.arange(past_len, past_len + len(PROMPT)).unsqueeze(0)
    inputs = ["input_ids", "attention_mask", "position_ids"]
    outputs = ["logits"]
    dynamic = {"input_ids": {0: "batch", 1: "seq"},
               "attention_mask": {0: "batch", 1: "total"},
               "position_ids": {0: "batch", 1: "seq"},
               "logits": {0: "batch", 1: "seq"}}
    args = (ids, mask, pos)
    wrapper = Plain(model)
    if with_past:
        wrapper = WithPast(model)
        kv = cfg.num_key_value_heads
        head = cfg.hidden_size // cfg.num_attention_heads
        for i in range(cfg.num_hidden_layers):
            for kind in ("key", "value"):
                inputs.append(f"past_key_values.{i}.{kind}")
                outputs.append(f"present.{i}.{kind}")
                dynamic[inputs[-1]] = {0: "batch", 2: "past"}
                dynamic[outputs[-1]] = {0: "batch", 2: "total"}
                args += (torch.randn(1, kv, past_len, head),)
    path = os.path.join(out, name + ".onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if dynamo:
            seq = torch.export.Dim("seq", min=2, max=128)
            torch.onnx.export(wrapper, args, path, dynamo=True,
                              opset_version=opset, input_names=inputs,
                              output_names=outputs, external_data=False,
                              dynamic_shapes={n: {1: seq} for n in inputs})
        else:
            torch.onnx.export(wrapper, args, path, dynamo=False,
                              opset_version=opset, input_names=inputs,
                              output_names=outputs, dynamic_axes=dynamic)

    with torch.no_grad():
        ref = model(input_ids=ids).logits[0]
        seq = list(PROMPT)
        for _ in range(GREEDY_STEPS):
            logits = model(input_ids=torch.tensor([seq])).logits
            seq.append(int(logits[0, -1].argmax()))
    ref.numpy().astype("<f4").tofile(os.path.join(out, name + ".ref.f32"))
    with open(os.path.join(out, name + ".ref.json"), "w") as f:
        json.dump({"ids": PROMPT, "greedy": seq[len(PROMPT):],
                   "attention": attn, "opset": opset, "with_past": with_past,
                   "exporter": "dynamo" if dynamo else "torchscript",
                   "torch": torch.__version__,
                   "transformers": transformers.__version__}, f, indent=1)
        f.write("\n")
    print(f"{name}: greedy {seq[len(PROMPT):]}")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_out = os.path.join(here, "..", "..", "test", "Conversion",
                               "ONNXToSqueeze", "Inputs", "torch")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.normpath(default_out))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    export(args.out, "torch_eager_op17", "eager", 17, False)
    export(args.out, "torch_sdpa_op14", "sdpa", 14, False)
    export(args.out, "torch_past_op17", "eager", 17, True)
    export(args.out, "torch_dynamo_op18", "eager", 18, False, dynamo=True)


if __name__ == "__main__":
    main()
