"""Running bundles in the plain runtimes, with no SDK code: what a user's own app would do."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def executorch_runner_text(bundle: Path, prompt: str, max_new_tokens: int) -> str:
    """Greedy text from ExecuTorch's own C++ runner (TextLLMRunner) on the bundle's .pte and tokenizer.json."""
    import executorch.extension.llm.custom_ops.custom_ops  # noqa: F401
    import executorch.kernels.quantized  # noqa: F401
    from executorch.extension.llm.runner import GenerationConfig, TextLLMRunner
    from executorch.extension.pybindings import portable_lib  # noqa: F401

    runner = TextLLMRunner(str(bundle / "model.pte"), str(bundle / "tokenizer.json"))
    pieces: list[str] = []
    config = GenerationConfig(max_new_tokens=max_new_tokens, temperature=0.0, echo=False)
    runner.generate(prompt, config, token_callback=pieces.append)
    return "".join(pieces)


def executorch_forward_logits(bundle: Path, token_ids: list[int]) -> np.ndarray:
    """The .pte's `forward` method through executorch.runtime, one token at a time into its KV cache."""
    import executorch.extension.llm.custom_ops.custom_ops  # noqa: F401
    import executorch.kernels.quantized  # noqa: F401
    import torch
    from executorch.runtime import Runtime

    forward = Runtime.get().load_program(str(bundle / "model.pte")).load_method("forward")
    rows = [forward.execute([torch.tensor([[t]]), torch.tensor([i])])[0].reshape(-1).numpy()
            for i, t in enumerate(token_ids)]
    return np.stack(rows)  # [T, V]


def onnxruntime_genai_greedy(bundle: Path, prompt_ids: list[int], max_new_tokens: int) -> list[int]:
    """Greedy token ids after `prompt_ids` from onnxruntime-genai's own Python API: og.Model and og.Generator."""
    import onnxruntime_genai as og

    model = og.Model(str(bundle))
    params = og.GeneratorParams(model)
    length = len(prompt_ids) + max_new_tokens
    params.set_search_options(do_sample=False, max_length=length, min_length=length)
    generator = og.Generator(model, params)
    generator.append_tokens(np.asarray(prompt_ids, dtype=np.int32))
    while not generator.is_done():
        generator.generate_next_token()
    return [int(t) for t in generator.get_sequence(0)[len(prompt_ids):]]


def onnxruntime_logits(model_file: Path, token_ids: list[int]) -> np.ndarray:
    """Prefill `token_ids` in a plain onnxruntime session, feeding empty `past_key_values` `[1, H_kv, 0, D]`."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(model_file))
    n = len(token_ids)
    feed = {"input_ids": np.array([token_ids]), "attention_mask": np.ones((1, n), dtype=np.int64)}
    for spec in session.get_inputs():
        if spec.name.startswith("past_key_values."):
            feed[spec.name] = np.zeros((1, spec.shape[1], 0, spec.shape[3]), dtype=np.float32)
    return session.run(["logits"], feed)[0][0]  # [T, V]
