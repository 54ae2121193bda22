"""Tests of the s10 Python package (ctypes over libs10rt).

The artifacts are compiled here from the bundled model with the tools of
the build tree ($S10_BUILD_DIR, default build/); references are the
PyTorch logits shipped with the model and the interpreter (s10-run on the
MLIR module).
"""
import json
import os
import struct
import subprocess

import pytest

import s10

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BUILD = os.environ.get("S10_BUILD_DIR", os.path.join(ROOT, "build"))
BIN = os.path.join(BUILD, "bin")
MODEL = os.path.join(ROOT, "models", "llama-12m")
PROMPT = [1, 343, 319, 3482, 305, 266, 2750, 1607, 1565, 291, 266]


def tool(name, *args):
    subprocess.run([os.path.join(BIN, name), *args], check=True,
                   capture_output=True)


@pytest.fixture(scope="session")
def raised(tmp_path_factory):
    d = tmp_path_factory.mktemp("model")
    imported, raised = str(d / "model.mlir"), str(d / "model.raised.mlir")
    tool("s10-translate", "--import-onnx",
         os.path.join(MODEL, "model.onnx"), "-o", imported)
    tool("s10-opt", imported, "--pass-pipeline=builtin.module(func.func("
         "raise-onnx-to-squeeze{remarks=false}),canonicalize,cse)",
         "-o", raised)
    return raised


@pytest.fixture(scope="session")
def artifact(raised):
    path = raised.replace(".raised.mlir", ".f16.s10")
    tool("s10-compile", raised, "-o", path, "--quiet")
    return path


@pytest.fixture(scope="session")
def packed_artifact(raised):
    packed = raised.replace(".raised.mlir", ".w2.mlirbc")
    tool("s10-opt", raised, "--squeeze10-quantize=method=rtn bits=2",
         "--emit-bytecode", "-o", packed)
    path = packed.replace(".mlirbc", ".s10")
    tool("s10-compile", packed, "-o", path, "--quiet")
    return packed, path


def ref_logits():
    raw = open(os.path.join(MODEL, "ref_logits.f32"), "rb").read()
    vals = struct.unpack("<%df" % (len(raw) // 4), raw)
    return [vals[i * 4096:(i + 1) * 4096] for i in range(len(vals) // 4096)]


def test_version():
    assert s10.runtime_version().count(".") == 2


def test_info(artifact):
    with s10.Model(artifact) as m:
        assert m.vocab == 4096
        assert m.info["hidden"] == 384
        assert m.info["layers"] == 6
        assert m.info["heads"] == 6 and m.info["kv_heads"] == 2
        assert m.info["target"] == "cpu-x86_64"
        assert m.info["file_bytes"] == os.path.getsize(artifact)
        assert m.info["eos_id"] == 2


def test_logits_match_pytorch(artifact):
    m = s10.Model(artifact)
    got = m.logits(PROMPT)
    ref = ref_logits()
    assert len(got) == len(ref) == len(PROMPT)
    worst = max(abs(float(a) - b) for g, r in zip(got, ref)
                for a, b in zip(g, r))
    assert worst < 1e-3


def test_greedy_matches_reference(artifact):
    ref = json.load(open(os.path.join(MODEL, "reference.json")))
    m = s10.Model(artifact)
    out = m.generate(PROMPT, max_new_tokens=40, eos_id=-1)
    assert out == ref["greedy_ids"][:len(PROMPT) + 40]


def test_session_decode_equals_prefill(artifact):
    m = s10.Model(artifact, threads=2)
    with m.session() as s:
        s.prefill(PROMPT[:5])
        for t in PROMPT[5:]:
            s.decode(t)
        last = s.last_logits()
        assert len(s) == len(PROMPT)
    full = m.logits(PROMPT)[-1]
    assert max(abs(float(a) - float(b)) for a, b in zip(last, full)) < 1e-4


def test_packed_matches_interpreter(packed_artifact, tmp_path):
    module, path = packed_artifact
    dump = str(tmp_path / "interp.f32")
    tool("s10-run", module, "--ids", ",".join(map(str, PROMPT)),
         "--max-new-tokens", "0", "--dump-logits", dump, "--quiet")
    raw = open(dump, "rb").read()
    vals = struct.unpack("<%df" % (len(raw) // 4), raw)
    got = s10.Model(path).logits(PROMPT)
    worst = max(abs(float(got[r][c]) - vals[r * 4096 + c])
                for r in range(len(PROMPT)) for c in range(4096))
    assert worst < 1e-4


def test_perplexity_is_exp_mean_nll_of_windows(packed_artifact):
    import math
    _, path = packed_artifact
    ids = [(7 * i + 3) % 4096 for i in range(3 * 64 + 5)]
    m = s10.Model(path)
    ppl = m.perplexity(ids, seqlen=64)
    # Three windows (the tail dropped), each scored alone, in plain Python.
    total = 0.0
    for w in range(3):
        win = ids[w * 64:(w + 1) * 64]
        rows = m.logits(win)
        for t in range(63):
            row = [float(v) for v in rows[t]]
            mx = max(row)
            total += math.log(sum(math.exp(v - mx) for v in row)) + mx \
                - row[win[t + 1]]
    assert abs(ppl - math.exp(total / (3 * 63))) < 1e-6 * ppl


def test_text_generation_with_tokenizer(artifact):
    pytest.importorskip("sentencepiece")
    m = s10.Model(artifact,
                  tokenizer=os.path.join(MODEL, "tokenizer.model"))
    text = m.generate("The history of the city begins in the",
                      max_new_tokens=8)
    assert text.startswith("The history of the city begins in the")
    assert len(text) > len("The history of the city begins in the")


def test_errors(artifact, tmp_path):
    with pytest.raises(s10.S10Error) as e:
        s10.Model(str(tmp_path / "missing.s10"))
    assert e.value.code == 2 and "missing.s10" in e.value.message
    bad = tmp_path / "bad.s10"
    data = bytearray(open(artifact, "rb").read())
    data[len(data) // 2] ^= 1
    bad.write_bytes(bytes(data))
    with pytest.raises(s10.S10Error) as e:
        s10.Model(str(bad))
    assert e.value.code == 3 and "checksum" in e.value.message
    m = s10.Model(artifact)
    with pytest.raises(s10.S10Error) as e:
        m.logits([1, 5000])
    assert e.value.code == 5
    with pytest.raises(s10.S10Error):
        m.logits([-1])
    with m.session(max_context=4) as s:
        s.prefill([1, 2, 3])
        with pytest.raises(s10.S10Error) as e:
            s.prefill([4, 5])
        assert e.value.code == 5
        assert len(s) == 3  # a failed call leaves the session as it was
        s.decode(4)
        assert len(s) == 4
