"""The ExecuTorch backend: an LLM `.pte` (XNNPACK, KV cache) driven through `executorch.runtime`.

The program's `forward(tokens [1, T], input_pos [1])` returns the logits of the last position and keeps
the KV cache in its own mutable buffers, so the SDK samples (every GenerationConfig option, as on the other
backends) while the program does the math. The same file runs in ExecuTorch's C++ `TextLLMRunner`.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import numpy as np

from infir_edge.errors import BackendError, BackendUnavailableError, ModelFormatError
from infir_edge.models.bundle import manifest_beside
from infir_edge.runtime.engine import Engine, EngineInfo
from infir_edge.runtime.hf_tokenizer import HFTokenizerBackend
from infir_edge.runtime.resources import resolve_context_length, resolve_threads


def _single_threaded_openmp() -> None:
    """Keep OpenMP out of ExecuTorch's way; only possible before the process first loads libgomp.

    Some of the program's kernels open OpenMP regions from the worker threads of ExecuTorch's own pool. Those
    threads take OpenMP's process-wide default (OMP_NUM_THREADS, read once when libgomp loads: with torch, or
    with llama.cpp, whichever comes first; torch.set_num_threads cannot change it), and two pools of spinning
    threads on the same cores collapse decode once the context passes ~64 tokens: 8da4w on 2 cores at 128
    tokens of context, 45 tok/s with OpenMP's default, 135 with 1. llama.cpp and torch name their thread
    counts explicitly, so they are not slowed by it.
    """
    if not _libgomp_loaded():
        os.environ.setdefault("OMP_NUM_THREADS", "1")
    elif os.environ.get("OMP_NUM_THREADS") != "1":
        warnings.warn("OpenMP was loaded (by torch or llama.cpp) before the ExecuTorch backend could set "
                      "OMP_NUM_THREADS=1: decode may run ~3x slower past ~64 tokens of context; set "
                      "OMP_NUM_THREADS=1 in the environment before starting Python", RuntimeWarning, stacklevel=5)


def _libgomp_loaded() -> bool:
    try:
        return "libgomp" in Path("/proc/self/maps").read_text()
    except OSError:  # not Linux: no way to tell, so only torch's import is a sign
        return "torch" in sys.modules


def _import_executorch():
    _single_threaded_openmp()
    try:
        import executorch.extension.llm.custom_ops.custom_ops  # noqa: F401  (registers the SDPA/KV-cache ops)
        import executorch.kernels.quantized  # noqa: F401  (the quantized kernels 8da4w programs call)
        import torch
        from executorch.extension.pybindings import portable_lib  # noqa: F401
        from executorch.runtime import Runtime
        from transformers import AutoTokenizer
    except ImportError as e:
        raise BackendUnavailableError("executorch", "executorch", str(e)) from None
    return torch, Runtime, AutoTokenizer


class ExecuTorchEngine(HFTokenizerBackend, Engine):
    backend_name = "executorch"

    def __init__(self, path: str | Path, *, n_ctx: int | None = None, threads: int | None = None) -> None:
        super().__init__()
        torch, Runtime, AutoTokenizer = _import_executorch()
        self.path = Path(path)
        self.threads = resolve_threads(threads)
        # the program runs on ExecuTorch's own threadpool; torch here only wraps token ids, and its idle
        # intra-op workers would spin against that pool (decode 145 -> 200 tok/s on 2 cores with one)
        torch.set_num_threads(1)
        from executorch.extension.pybindings import portable_lib

        if portable_lib._threadpool_get_thread_count() != self.threads:
            portable_lib._unsafe_reset_threadpool(self.threads)  # process-wide, like torch's own setting
        self._torch = torch
        try:
            program = Runtime.get().load_program(self.path)
            self._forward = program.load_method("forward")
            constants = {name: program.load_method(name).execute([])[0] for name in program.method_names
                         if name.startswith("get_")}
            self.tokenizer = AutoTokenizer.from_pretrained(str(self.path.parent))
        except Exception as e:  # the runtime raises RuntimeError/ValueError; tokenizers its own
            raise ModelFormatError(f"{self.path}: ExecuTorch could not load the program: {e}") from None
        if "get_max_context_len" not in constants:
            raise ModelFormatError(f"{self.path}: not an LLM program (no get_max_context_len method)")
        self.n_ctx_train = int(constants["get_max_context_len"])
        # export_llm bounds the token dimension to max_seq_len - 1 (a 512-token chunk fails to resize)
        self._max_chunk = int(constants.get("get_max_seq_len", self.n_ctx_train)) - 1
        self.n_ctx = resolve_context_length(n_ctx, self.n_ctx_train, 0)
        self.n_vocab = int(constants.get("get_vocab_size", len(self.tokenizer)))
        self._adopt_tokenizer(self.tokenizer, constants.get("get_eos_ids"))  # the program's own EOS list
        self._position = 0

    def _evaluate(self, token_ids: list[int]) -> np.ndarray:
        torch = self._torch
        logits = None
        for start in range(0, len(token_ids), self._max_chunk):
            chunk = token_ids[start : start + self._max_chunk]
            inputs = [torch.tensor([chunk], dtype=torch.long), torch.tensor([self._position], dtype=torch.long)]
            try:
                logits = self._forward.execute(inputs)[0]  # [1, V]
            except Exception as e:
                raise BackendError(f"ExecuTorch failed to evaluate {len(chunk)} tokens: {e}") from None
            self._position += len(chunk)
        return logits[0].float().numpy()  # [V]

    def _prefill(self, token_ids: list[int]) -> np.ndarray:
        self._position = 0  # the cache slots past the new prompt are never read: attention masks by position
        return self._evaluate(token_ids)

    def _decode(self, token_id: int) -> np.ndarray:
        return self._evaluate([token_id])

    def info(self) -> EngineInfo:
        manifest = manifest_beside(self.path)
        return EngineInfo(
            backend=self.backend_name,
            path=str(self.path),
            format="pte",
            quantization=manifest.get("quantization", "unknown"),
            # the program is ExecuTorch's Llama definition set up for the family the bundle was exported from
            architecture=manifest.get("export_settings", {}).get("family", "llama"),
            n_params=manifest.get("export_report", {}).get("n_params", 0),
            n_ctx=self.n_ctx,
            n_ctx_train=self.n_ctx_train,
            n_vocab=self.n_vocab,
            threads=self.threads,
        )

    def _free(self) -> None:
        self._forward = None
