"""The llama.cpp backend: a GGUF file through llama-cpp-python's low-level eval loop.

The SDK samples from the logits llama.cpp leaves in its context (a view, no copy), so there is no
per-token work here beyond one `llama_decode`. Before a file reaches llama.cpp in this process it is
checked twice: the header reader refuses anything malformed, and a child process loads it and
generates a token, because llama.cpp aborts the whole process on some damaged files; a file that passed
is remembered (path, size, mtime) so later loads skip the probe.

A request reuses the KV cache of the prompt prefix it shares with the previous request (`prefix_cache=True`,
the default): an agent whose prompt changes only at its end, or a chat whose prompt extends the last one, pays
only for the new tokens. llama.cpp's single-token kernels round differently from its batched ones, so only
positions a prefill evaluated in a batch are reused (not the tokens decoded after it), and the rest of the
prompt, at least two tokens, is evaluated in batches of two or more: on the CPU builds measured that gives the
logits a fresh prefill gives, bit for bit. llama.cpp promises no such thing (kernels that group rows by fours
would break it): `benchmarks/prefix_reuse.py` counts the greedy results that differ; `prefix_cache=False` keeps
every request independent of the one before.

A bundle whose manifest names an image projector (`vision.projector_file`, an InfiR-VL export) also takes
images: see `llamacpp_vision.py` (checked, then probed together with the model file).
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import weakref
from pathlib import Path

import numpy as np

from infir_edge.cache import file_key, read_json_cache, update_json_cache
from infir_edge.errors import BackendError, BackendUnavailableError, InvalidRequestError, ModelFormatError
from infir_edge.models.bundle import manifest_beside
from infir_edge.models.gguf_model import GGUFModelInfo, inspect_gguf
from infir_edge.runtime.engine import Engine, EngineInfo
from infir_edge.runtime.resources import resolve_context_length, resolve_threads

PROBE_TIMEOUT_S = 120
PROBE_CACHE = "llamacpp_probed.json"  # in the SDK cache: files that loaded in a child process
MIN_BATCH = 2  # a batch of one token goes through the single-token kernels, which round differently
SPECIAL_TOKEN_TYPES = (3, 4)  # llama.cpp token types CONTROL and USER_DEFINED


def _import_llama_cpp():
    try:
        import llama_cpp
    except ImportError as e:
        raise BackendUnavailableError("llamacpp", "llamacpp", str(e)) from None
    return llama_cpp


class LlamaCppEngine(Engine):
    backend_name = "llamacpp"

    def __init__(
        self,
        path: str | Path,
        *,
        n_ctx: int | None = None,
        threads: int | None = None,
        n_batch: int = 512,
        probe: bool = True,
        mmproj: str | Path | None = None,
        prefix_cache: bool = True,
    ) -> None:
        """`mmproj`: an image projector GGUF for the model (default: the one the bundle's manifest names).
        `prefix_cache`: keep the KV cache of the prompt prefix a request shares with the previous one."""
        if not isinstance(prefix_cache, bool):
            raise InvalidRequestError(f"prefix_cache must be true or false, not {prefix_cache!r}")
        super().__init__()
        self.path = Path(path)
        self.gguf: GGUFModelInfo = inspect_gguf(self.path)
        llama_cpp = _import_llama_cpp()
        vision_info = None
        mmproj = _projector_of(self.path) if mmproj is None else Path(mmproj)
        if mmproj is not None:
            from infir_edge.runtime.llamacpp_vision import inspect_mmproj

            vision_info = inspect_mmproj(mmproj, self.gguf.n_embd)
        if probe:
            ensure_loadable(self.path, mmproj)
        self.threads = resolve_threads(threads)
        kv_bytes_per_token = 2 * 2 * self.gguf.n_layer * self.gguf.n_head_kv * self.gguf.head_dim  # K+V, f16
        self.n_ctx = resolve_context_length(n_ctx, self.gguf.n_ctx_train, kv_bytes_per_token)
        try:
            self._llm = llama_cpp.Llama(
                model_path=str(self.path),
                n_ctx=self.n_ctx,
                n_batch=min(n_batch, self.n_ctx),
                n_threads=self.threads,
                n_threads_batch=self.threads,
                n_gpu_layers=0,
                logits_all=False,  # True allocates n_ctx x n_vocab floats
                verbose=False,
            )
        except (ValueError, RuntimeError) as e:
            raise ModelFormatError(f"{self.path}: llama.cpp could not load the model: {e}") from None
        self._vision = None
        if vision_info is not None:
            from infir_edge.runtime.llamacpp_vision import MtmdVision

            try:
                self._vision = MtmdVision(vision_info, self._llm, self.threads)
            except Exception:
                self._llm.close()
                raise
            self.supports_images, self.image_tokens = True, vision_info.image_tokens
        # free llama.cpp's memory at interpreter exit too, while the library can still be called
        self._finalizer = weakref.finalize(self, _close, self._llm, self._vision)
        if self._llm.n_ctx() < self.n_ctx:  # llama.cpp may round up (to a multiple of 256), never down
            raise BackendError(f"llama.cpp made a context of {self._llm.n_ctx()} tokens, not {self.n_ctx}")
        self._lib = llama_cpp
        self._ctx = self._llm._ctx.ctx
        self._vocab = self._llm._model.vocab
        self.n_vocab = self._llm.n_vocab()
        self._piece_cache: dict[int, bytes] = {}
        tokens = self.gguf.header.metadata["tokenizer.ggml.tokens"]
        self.chat_template = self.gguf.chat_template
        self.bos_token = tokens[self.gguf.bos_token_id] if self.gguf.bos_token_id is not None else ""
        self.eos_token = tokens[self.gguf.eos_token_id] if self.gguf.eos_token_id is not None else ""
        self.eog_token_ids = self._end_of_generation_ids()
        self._add_bos = bool(self._llm._model.add_bos_token())
        self.prefix_cache = prefix_cache and self._can_cut_cache()
        self.last_prefill_reused = 0  # prompt tokens the last prefill kept in the cache
        # Leading cache positions a later prompt may reuse: those `input_ids` names and a prefill evaluated in a
        # batch. None after an image prefill (libmtmd writes image embeddings at positions input_ids knows
        # nothing of) or a failure.
        self._reusable = 0

    def _can_cut_cache(self) -> bool:
        # A recurrent state cannot be cut back to a position, and a sliding-window cache may already have
        # dropped the positions the re-evaluated tokens would attend to: those models always start empty.
        model = self._llm.model
        lib = self._lib
        return not (lib.llama_model_is_recurrent(model) or lib.llama_model_is_hybrid(model)
                    or lib.llama_model_n_swa(model) > 0)

    def _end_of_generation_ids(self) -> frozenset[int]:
        # Only special tokens can end a generation; asking llama.cpp about those alone is instant.
        types = self.gguf.header.metadata.get("tokenizer.ggml.token_type") or []
        candidates = {i for i, t in enumerate(types) if t in SPECIAL_TOKEN_TYPES}
        candidates |= {t for t in (self.gguf.eos_token_id, self._llm._model.token_eot()) if t is not None and t >= 0}
        return frozenset(t for t in candidates if self._lib.llama_vocab_is_eog(self._vocab, t))

    def _special_token_ids(self) -> frozenset[int]:
        types = self.gguf.header.metadata.get("tokenizer.ggml.token_type") or []
        return frozenset(i for i, t in enumerate(types) if t in SPECIAL_TOKEN_TYPES) | self.eog_token_ids

    # ---- backend primitives ------------------------------------------------------------------------
    def _tokenize(self, text: str, add_special: bool) -> list[int]:
        data = text.encode("utf-8")
        add_bos = add_special and self._add_bos
        return self._llm.tokenize(data, add_bos=add_bos, special=True) if data or add_bos else []

    def _token_bytes(self, token_id: int) -> bytes:
        piece = self._piece_cache.get(token_id)
        if piece is None:
            size = 64
            while True:
                buf = ctypes.create_string_buffer(size)
                n = self._lib.llama_token_to_piece(self._vocab, token_id, buf, size, 0, True)
                if n >= 0:
                    break
                size = -n  # too small: llama.cpp says how much it needs
            piece = self._piece_cache[token_id] = buf.raw[:n]
        return piece

    def _prefill(self, token_ids: list[int]) -> np.ndarray:
        # Keeping the shared prefix is what makes an agent's next step cheap. Which positions are kept, and how
        # the rest is batched, is chosen so that every prompt position is computed by the batched kernels, as in
        # a fresh prefill: a greedy request then gets the answer it would get alone. teacher_forced_logits
        # prefills one token, so it never reuses and stays exact.
        keep = self._shared_prefix(token_ids) if self.prefix_cache else 0
        self.last_prefill_reused = 0
        self._reusable = 0  # until this prefill completes
        self._llm.n_tokens = keep  # Llama.eval drops the cache past n_tokens before evaluating
        start = keep
        try:
            for size in _batch_sizes(len(token_ids) - keep, self._llm.n_batch):
                logits = self._eval(token_ids[start : start + size])
                start += size
        except BaseException:  # interrupted too: the cache past `keep` is in an unknown state
            self._llm.n_tokens = 0
            raise
        # the tokens decoded next go through the single-token kernels: they are never reused
        self._reusable = len(token_ids) if len(token_ids) >= MIN_BATCH else 0
        self.last_prefill_reused = keep
        return logits

    def _shared_prefix(self, token_ids: list[int]) -> int:
        """How many leading tokens of `token_ids` the cache holds reusably, leaving at least MIN_BATCH to
        evaluate: the last one's logits are the prefill's answer (llama.cpp keeps only the last position's)."""
        limit = min(self._reusable, self._llm.n_tokens, len(token_ids) - MIN_BATCH)
        if limit <= 0:
            return 0
        held = self._llm.input_ids[:limit]
        differ = np.flatnonzero(held != np.asarray(token_ids[:limit], dtype=held.dtype))
        keep = int(differ[0]) if differ.size else limit
        if keep and not self._llm._ctx.kv_cache_seq_rm(-1, keep, -1):  # llama.cpp refused the cut: start empty
            return 0
        return keep

    def _decode(self, token_id: int) -> np.ndarray:
        return self._eval([token_id])

    def _prefill_images(self, prompt: str, images: list) -> np.ndarray:
        self._reusable = 0  # the images' positions hold embeddings, not the ids input_ids keeps
        self.last_prefill_reused = 0
        return self._vision.prefill(self._llm, prompt, images, add_special=True)

    def _image_embeddings(self, image) -> np.ndarray:
        return self._vision.embeddings(image)

    def _eval(self, token_ids: list[int]) -> np.ndarray:
        try:
            self._llm.eval(token_ids)
        except RuntimeError as e:
            self._llm.n_tokens = 0
            self._reusable = 0
            raise BackendError(f"llama.cpp failed to evaluate {len(token_ids)} tokens: {e}") from None
        pointer = self._lib.llama_get_logits_ith(self._ctx, -1)
        return np.ctypeslib.as_array(pointer, shape=(self.n_vocab,))  # [V], valid until the next eval

    def info(self) -> EngineInfo:
        g = self.gguf
        return EngineInfo(
            backend=self.backend_name,
            path=str(self.path),
            format="gguf",
            quantization=g.quantization,
            architecture=g.architecture,
            n_params=g.n_params,
            n_ctx=self.n_ctx,
            n_ctx_train=g.n_ctx_train,
            n_vocab=self.n_vocab,
            threads=self.threads,
            prefix_cache=self.prefix_cache,
        )

    def _free(self) -> None:
        self._finalizer()
        self._llm = None


def _batch_sizes(n: int, n_batch: int) -> list[int]:
    """`n` tokens in batches of at most `n_batch`, none of a single token where that can be helped (Llama.eval
    would cut 513 tokens into 512 + 1, and the last one would take the single-token kernels)."""
    sizes = []
    while n > n_batch:
        take = n_batch - 1 if n - n_batch == 1 and n_batch > MIN_BATCH else n_batch
        sizes.append(take)
        n -= take
    return [*sizes, n] if n else sizes


def _close(llm, vision) -> None:
    if vision is not None:  # before the model it points into
        vision.close()
    llm.close()


def _projector_of(model_file: Path) -> Path | None:
    """The image projector the bundle's manifest names beside `model_file`, if any."""
    try:
        name = (manifest_beside(model_file).get("vision") or {}).get("projector_file")
    except (OSError, ValueError, AttributeError):
        return None  # a bare file, or a manifest the bundle reader already judged
    if not name:
        return None
    if not isinstance(name, str) or Path(name).name != name:
        raise ModelFormatError(f"{model_file.parent}: the manifest names an invalid projector file {name!r}")
    return model_file.parent / name


# ---- the child-process probe ---------------------------------------------------------------------------
def ensure_loadable(path: Path, mmproj: Path | None = None) -> None:
    """Load `path` (and its image projector) with llama.cpp in a child process, generate a token (and encode an
    image); raise `ModelFormatError` if it fails."""
    key = file_key(path) + (f"+{file_key(mmproj)}" if mmproj is not None else "")
    if read_json_cache(PROBE_CACHE).get(key):
        return
    command = [sys.executable, "-m", "infir_edge.runtime.llamacpp", "--probe", str(path)]
    if mmproj is not None:
        command += ["--mmproj", str(mmproj)]
    # the child imports this package the way the parent did, wherever it came from
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    try:
        proc = subprocess.run(
            command, capture_output=True, text=True, errors="replace", timeout=PROBE_TIMEOUT_S, env=env
        )
    except subprocess.TimeoutExpired:
        raise ModelFormatError(f"{path}: llama.cpp did not finish loading it within {PROBE_TIMEOUT_S} s") from None
    if proc.returncode != 0:
        if proc.returncode < 0:
            how = f"crashed ({signal.Signals(-proc.returncode).name})"
        else:
            how = f"failed (exit {proc.returncode})"
        reason = _last_error_line(proc.stderr)
        what = "this file" if mmproj is None else f"this file with the projector {mmproj.name}"
        raise ModelFormatError(f"{path}: llama.cpp {how} loading {what}" + (f": {reason}" if reason else ""))
    update_json_cache(PROBE_CACHE, key, True)


def _last_error_line(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in reversed(lines):
        if any(word in line.lower() for word in ("error", "assert", "failed", "invalid", "exception")):
            return line[:300]
    return lines[-1][:300] if lines else ""


def _probe(path: str, mmproj: str | None = None) -> None:
    """Runs in the child: everything a first load and generation would make llama.cpp do."""
    llama_cpp = _import_llama_cpp()
    n_ctx = 64
    if mmproj is not None:
        from infir_edge.runtime.llamacpp_vision import inspect_mmproj

        n_ctx += inspect_mmproj(mmproj).image_tokens
    llm = llama_cpp.Llama(model_path=path, n_ctx=n_ctx, n_batch=64, n_threads=1, verbose=True)
    ids = llm.tokenize("<|im_start|>user\nHello, world! 12345 ünï<|im_end|>\n".encode(), add_bos=True, special=True)
    ids = ids[:32] or [0]
    llm.eval(ids)
    logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm._ctx.ctx, -1), shape=(llm.n_vocab(),))
    llm.eval([int(np.argmax(logits))])
    buf = ctypes.create_string_buffer(256)
    for token in range(llm.n_vocab()):
        llama_cpp.llama_token_to_piece(llm._model.vocab, token, buf, 256, 0, True)
    if mmproj is not None:
        from infir_edge.runtime.llamacpp_vision import probe

        probe(llm, mmproj)
    llm.close()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--probe":
        _probe(sys.argv[2])
    elif len(sys.argv) == 5 and sys.argv[1] == "--probe" and sys.argv[3] == "--mmproj":
        _probe(sys.argv[2], sys.argv[4])
    else:
        sys.exit("usage: python -m infir_edge.runtime.llamacpp --probe FILE.gguf [--mmproj MMPROJ.gguf]")
