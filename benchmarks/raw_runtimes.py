"""The runtimes on their own, with no SDK code: the baseline the SDK's overhead is measured against.

Each runs the same file greedily the way a user of that runtime alone would: llama-cpp-python's own
`Llama.generate` loop (eval + its C sampler), onnxruntime-genai's own greedy `og.Generator` loop,
and ExecuTorch's C++ `TextLLMRunner`. Each returns the figures `Timings` gives for the SDK, with the same
definitions: time to first token from the call, decode = (tokens - 1) / (last token - first token).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class RawRun:
    prompt_tokens: int
    generated_tokens: int
    ttft_s: float
    decode_s: float

    @property
    def decode_tok_s(self) -> float:
        return (self.generated_tokens - 1) / self.decode_s if self.generated_tokens > 1 and self.decode_s > 0 else 0.0

    @property
    def prefill_tok_s(self) -> float:  # the runtimes report prefill and the first sample together
        return self.prompt_tokens / self.ttft_s if self.ttft_s > 0 else 0.0


class LlamaCppRaw:
    name = "llama-cpp-python"

    def __init__(self, model_file: Path, *, threads: int | None, n_ctx: int) -> None:
        from llama_cpp import Llama

        options = {"n_threads": threads, "n_threads_batch": threads} if threads else {}  # None: its defaults
        self.llm = Llama(model_path=str(model_file), n_ctx=n_ctx, n_gpu_layers=0, verbose=False, **options)
        self.threads = self.llm.n_threads  # what it chose when asked for its defaults

    def run(self, prompt_ids: list[int], new_tokens: int, prompt_text: str) -> RawRun:
        self.llm.reset()  # else generate() reuses the cached prompt prefix of the previous run
        clock = time.perf_counter
        start = clock()
        first = last = start
        count = 0
        for _token in self.llm.generate(prompt_ids, top_k=1, temp=0.0, reset=True):
            count += 1
            last = clock()
            if count == 1:
                first = last
            if count == new_tokens:
                break
        return RawRun(len(prompt_ids), count, first - start, last - first)

    def close(self) -> None:
        self.llm.close()


class OnnxGenaiRaw:
    name = "onnxruntime-genai"

    def __init__(self, model_file: Path, *, threads: int, n_ctx: int) -> None:
        import json

        import onnxruntime_genai as og

        config = og.Config(str(model_file.parent))  # the bundle's genai_config.json names the model file
        config.overlay(json.dumps({"model": {"decoder": {"session_options": {"intra_op_num_threads": threads}}}}))
        self.model = og.Model(config)
        self.n_ctx = n_ctx

    def run(self, prompt_ids: list[int], new_tokens: int, prompt_text: str) -> RawRun:
        import onnxruntime_genai as og

        clock = time.perf_counter
        start = clock()
        params = og.GeneratorParams(self.model)
        length = min(self.n_ctx, len(prompt_ids) + new_tokens)
        params.set_search_options(do_sample=False, max_length=length, min_length=length)  # no early EOS
        generator = og.Generator(self.model, params)
        generator.append_tokens(np.asarray(prompt_ids, dtype=np.int32))
        generator.generate_next_token()  # greedy, by its own search, from the prompt's logits
        first = clock()
        count = 1
        while count < new_tokens and not generator.is_done():
            generator.generate_next_token()
            count += 1
        last = clock()
        return RawRun(len(prompt_ids), count, first - start, last - first)

    def close(self) -> None:
        self.model = None


class TextLLMRunnerRaw:
    name = "executorch TextLLMRunner"

    def __init__(self, model_file: Path, *, threads: int, n_ctx: int) -> None:
        import executorch.extension.llm.custom_ops.custom_ops  # noqa: F401  (the program's SDPA/KV-cache ops)
        import executorch.kernels.quantized  # noqa: F401
        from executorch.extension.llm.runner import TextLLMRunner
        from executorch.extension.pybindings import portable_lib

        if portable_lib._threadpool_get_thread_count() != threads:  # the runner uses the same process-wide pool
            portable_lib._unsafe_reset_threadpool(threads)
        self.runner = TextLLMRunner(str(model_file), str(model_file.parent / "tokenizer.json"))

    def run(self, prompt_ids: list[int], new_tokens: int, prompt_text: str) -> RawRun:
        from executorch.extension.llm.runner import GenerationConfig

        stats = []
        self.runner.reset()  # else it continues the previous generation's KV cache, like a chat turn
        config = GenerationConfig(max_new_tokens=new_tokens, temperature=0.0, echo=False)
        # the runner tokenizes the text itself (what its users hand it) and times itself with its own clock
        self.runner.generate(prompt_text, config, token_callback=lambda _piece: None, stats_callback=stats.append)
        s = stats[-1]
        return RawRun(s.num_prompt_tokens, s.num_generated_tokens, (s.first_token_ms - s.inference_start_ms) / 1000,
                      (s.inference_end_ms - s.first_token_ms) / 1000)

    def close(self) -> None:
        self.runner = None


RAW_RUNTIMES = {"llamacpp": LlamaCppRaw, "onnxruntime": OnnxGenaiRaw, "executorch": TextLLMRunnerRaw}
