"""Run compiled s10 artifacts (.s10) from Python.

    import s10
    model = s10.Model("model.s10")
    ids = model.generate([1, 343, 319], max_new_tokens=20)
    rows = model.logits([1, 343, 319])          # one row of logits per token
    ppl = model.perplexity(token_ids, seqlen=512)

A thin ctypes layer over libs10rt's C API (runtime/include/s10-c/runtime.h).
The library is found through $S10RT_LIBRARY, next to this package, in the
build tree, or by the dynamic loader. Logits come back as numpy arrays when
numpy is installed, else as lists of floats.
"""

import ctypes
import math
import os

__all__ = ["Model", "Session", "S10Error", "runtime_version", "load_library"]

_lib = None


class S10Error(RuntimeError):
    """An error reported by libs10rt; `code` is its s10_status_code_t."""

    CODES = {
        1: "invalid argument",
        2: "not found",
        3: "data loss",
        4: "unimplemented",
        5: "out of range",
        6: "resource exhausted",
        7: "internal",
        8: "i/o error",
    }

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


class _ModelOptions(ctypes.Structure):
    _fields_ = [("verify_checksum", ctypes.c_int)]


class _SessionOptions(ctypes.Structure):
    _fields_ = [
        ("max_context", ctypes.c_uint32),
        ("threads", ctypes.c_uint32),
        ("max_chunk", ctypes.c_uint32),
        ("gemv_prefill", ctypes.c_uint32),
    ]


class _ModelInfo(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("target", ctypes.c_char_p),
        ("format_version", ctypes.c_uint32),
        ("vocab", ctypes.c_uint32),
        ("hidden", ctypes.c_uint32),
        ("layers", ctypes.c_uint32),
        ("heads", ctypes.c_uint32),
        ("kv_heads", ctypes.c_uint32),
        ("head_dim", ctypes.c_uint32),
        ("intermediate", ctypes.c_uint32),
        ("max_positions", ctypes.c_uint32),
        ("bos_id", ctypes.c_int32),
        ("eos_id", ctypes.c_int32),
        ("file_bytes", ctypes.c_uint64),
        ("weight_bytes", ctypes.c_uint64),
        ("steps", ctypes.c_uint32),
        ("compiled_kernels", ctypes.c_uint32),
    ]


def _candidates():
    env = os.environ.get("S10RT_LIBRARY")
    if env:
        yield env
    here = os.path.dirname(os.path.abspath(__file__))
    yield os.path.join(here, "libs10rt.so")
    root = os.path.dirname(os.path.dirname(here))
    builds = [os.environ.get("S10_BUILD_DIR"), os.path.join(root, "build")]
    for build in filter(None, builds):
        build = os.path.join(root, build)  # absolute paths stay as they are
        yield os.path.join(build, "runtime", "libs10rt.so")
        yield os.path.join(build, "runtime-standalone", "libs10rt.so")
    yield "libs10rt.so"


def load_library(path=None):
    """Loads libs10rt (once) and declares its C API; returns the CDLL."""
    global _lib
    if _lib is not None and path is None:
        return _lib
    errors = []
    lib = None
    for p in [path] if path else _candidates():
        if os.sep in p and not os.path.exists(p):
            continue
        try:
            lib = ctypes.CDLL(p)
            break
        except OSError as e:
            errors.append(f"{p}: {e}")
    if lib is None:
        raise S10Error(2, "cannot load libs10rt.so; set S10RT_LIBRARY"
                       + "".join("\n  " + e for e in errors))
    P = ctypes.c_void_p
    decl = {
        "s10_status_code": (ctypes.c_int, [P]),
        "s10_status_message": (ctypes.c_char_p, [P]),
        "s10_status_free": (None, [P]),
        "s10_runtime_version": (ctypes.c_char_p, []),
        "s10_model_options_init": (None, [ctypes.POINTER(_ModelOptions)]),
        "s10_model_open": (P, [ctypes.c_char_p, ctypes.POINTER(_ModelOptions),
                               ctypes.POINTER(P)]),
        "s10_model_free": (None, [P]),
        "s10_model_info": (P, [P, ctypes.POINTER(_ModelInfo)]),
        "s10_session_options_init": (None, [ctypes.POINTER(_SessionOptions)]),
        "s10_session_create": (P, [P, ctypes.POINTER(_SessionOptions),
                                   ctypes.POINTER(P)]),
        "s10_session_free": (None, [P]),
        "s10_session_prefill": (P, [P, ctypes.POINTER(ctypes.c_int32),
                                    ctypes.c_size_t,
                                    ctypes.POINTER(ctypes.c_float)]),
        "s10_session_decode": (P, [P, ctypes.c_int32]),
        "s10_session_logits": (P, [P, ctypes.POINTER(ctypes.POINTER(
            ctypes.c_float)), ctypes.POINTER(ctypes.c_size_t)]),
        "s10_session_length": (ctypes.c_size_t, [P]),
        "s10_session_reset": (None, [P]),
    }
    for name, (res, args) in decl.items():
        fn = getattr(lib, name)
        fn.restype = res
        fn.argtypes = args
    _lib = lib
    return lib


def _check(status):
    if not status:
        return
    lib = load_library()
    code = lib.s10_status_code(status)
    msg = lib.s10_status_message(status).decode("utf-8", "replace")
    lib.s10_status_free(status)
    raise S10Error(code, msg)


def runtime_version():
    return load_library().s10_runtime_version().decode()


def _ids_array(ids):
    ids = [int(i) for i in ids]
    for i in ids:
        if i < 0 or i > 0x7FFFFFFF:
            raise S10Error(1, f"token id {i} is not a valid id")
    return (ctypes.c_int32 * len(ids))(*ids), len(ids)


def _rows(buf, rows, vocab):
    try:
        import numpy as np
        return np.ctypeslib.as_array(buf).reshape(rows, vocab).copy()
    except ImportError:
        return [list(buf[r * vocab:(r + 1) * vocab]) for r in range(rows)]


class _Handle:
    """Owns a libs10rt object: freed by close(), a `with` block or GC."""

    _free = None  # the name of the C function that frees the handle

    def close(self):
        if getattr(self, "_handle", None):
            getattr(load_library(), self._free)(self._handle)
            self._handle = None

    def __del__(self):
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _sum_nll(rows, ids):
    """Sum over t of -log softmax(rows[t])[ids[t + 1]], in double."""
    try:
        import numpy as np
        x = np.asarray(rows[:-1], dtype=np.float64)
        m = x.max(axis=1, keepdims=True)
        lse = np.log(np.exp(x - m).sum(axis=1)) + m[:, 0]
        return float((lse - x[np.arange(len(x)), ids[1:]]).sum())
    except ImportError:
        total = 0.0
        for t in range(len(ids) - 1):
            row = rows[t]
            m = max(row)
            lse = math.log(sum(math.exp(float(v) - m) for v in row)) + m
            total += lse - float(row[ids[t + 1]])
        return total


class Session(_Handle):
    """A sequence with its KV cache: prefill, then decode token by token."""

    _free = "s10_session_free"

    def __init__(self, model, max_context=0, threads=None, max_chunk=0,
                 gemv_prefill=False):
        self._model = model
        lib = load_library()
        opts = _SessionOptions()
        lib.s10_session_options_init(ctypes.byref(opts))
        opts.max_context = max_context
        opts.threads = model.threads if threads is None else threads
        opts.max_chunk = max_chunk
        # CUDA: prefill through the GEMVs rather than the tensor-core GEMMs.
        opts.gemv_prefill = 1 if gemv_prefill else 0
        handle = ctypes.c_void_p()
        _check(lib.s10_session_create(model._handle, ctypes.byref(opts),
                                      ctypes.byref(handle)))
        self._handle = handle

    def prefill(self, ids, all_logits=False):
        """Runs `ids` after the tokens so far; returns [len(ids), vocab]
        logits when `all_logits`, else None."""
        arr, n = _ids_array(ids)
        if n == 0:
            raise S10Error(1, "prefill needs at least one token")
        vocab = self._model.vocab
        out = (ctypes.c_float * (n * vocab))() if all_logits else None
        _check(load_library().s10_session_prefill(self._handle, arr, n, out))
        return _rows(out, n, vocab) if all_logits else None

    def decode(self, token):
        _check(load_library().s10_session_decode(self._handle, int(token)))

    def last_logits(self):
        ptr = ctypes.POINTER(ctypes.c_float)()
        n = ctypes.c_size_t()
        _check(load_library().s10_session_logits(self._handle,
                                                 ctypes.byref(ptr),
                                                 ctypes.byref(n)))
        return _rows((ctypes.c_float * n.value).from_address(
            ctypes.addressof(ptr.contents)), 1, n.value)[0]

    def __len__(self):
        return load_library().s10_session_length(self._handle)

    def reset(self):
        load_library().s10_session_reset(self._handle)


class Model(_Handle):
    """A compiled artifact, mapped and verified at construction."""

    _free = "s10_model_free"

    def __init__(self, path, threads=0, verify_checksum=True, tokenizer=None):
        lib = load_library()
        opts = _ModelOptions()
        lib.s10_model_options_init(ctypes.byref(opts))
        opts.verify_checksum = 1 if verify_checksum else 0
        handle = ctypes.c_void_p()
        _check(lib.s10_model_open(os.fsencode(path), ctypes.byref(opts),
                                  ctypes.byref(handle)))
        self._handle = handle
        self.path = path
        self.threads = threads
        info = _ModelInfo()
        _check(lib.s10_model_info(handle, ctypes.byref(info)))
        self.info = {f: getattr(info, f) for f, _ in _ModelInfo._fields_}
        for k in ("name", "target"):
            self.info[k] = self.info[k].decode() if self.info[k] else ""
        self.vocab = info.vocab
        self.max_positions = info.max_positions
        self._tokenizer = None
        if tokenizer is not None:
            import sentencepiece
            self._tokenizer = sentencepiece.SentencePieceProcessor(
                model_file=os.fspath(tokenizer))

    def session(self, **kwargs):
        return Session(self, **kwargs)

    def logits(self, ids, gemv_prefill=False):
        """The logits of every position of `ids` ([len(ids), vocab]);
        `gemv_prefill`: see Session."""
        with Session(self, max_context=max(len(ids), 1),
                     gemv_prefill=gemv_prefill) as s:
            return s.prefill(ids, all_logits=True)

    def generate(self, prompt, max_new_tokens=32, eos_id=None):
        """Greedy continuation. `prompt` is token ids (returned: prompt ids
        followed by the new ids) or, with a tokenizer, text (returned:
        the decoded text). Stops at `eos_id` (default: the artifact's)."""
        text = isinstance(prompt, str)
        if text:
            if self._tokenizer is None:
                raise S10Error(1, "a text prompt needs Model(..., "
                               "tokenizer='tokenizer.model')")
            ids = [self._tokenizer.bos_id()] + self._tokenizer.encode(prompt)
        else:
            ids = [int(i) for i in prompt]
        if eos_id is None:
            eos_id = self.info["eos_id"]
        out = list(ids)
        with Session(self) as s:
            s.prefill(ids)
            for n in range(max_new_tokens):
                if len(out) >= self.max_positions:
                    break
                if n > 0:
                    s.decode(out[-1])
                row = s.last_logits()
                best = max(range(len(row)), key=row.__getitem__)
                out.append(best)
                if eos_id is not None and eos_id >= 0 and best == eos_id:
                    break
        return self._tokenizer.decode(out) if text else out

    def perplexity(self, ids, seqlen=512, max_windows=0):
        """exp(mean NLL) over non-overlapping windows of `seqlen` tokens,
        each scored alone (the tail dropped), as s10-run computes it."""
        if seqlen < 2:
            raise S10Error(1, "seqlen must be at least 2")
        windows = len(ids) // seqlen
        if windows == 0:
            raise S10Error(1, f"{len(ids)} tokens, fewer than one window of "
                           f"{seqlen}")
        if max_windows:
            windows = min(windows, max_windows)
        total, count = 0.0, 0
        with Session(self, max_context=seqlen, max_chunk=seqlen) as s:
            for w in range(windows):
                win = ids[w * seqlen:(w + 1) * seqlen]
                s.reset()
                rows = s.prefill(win, all_logits=True)
                total += _sum_nll(rows, win)
                count += seqlen - 1
        return math.exp(total / count)
