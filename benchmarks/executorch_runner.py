"""Decode speed of the SDK's ExecuTorch backend against ExecuTorch's own C++ runner on the same `.pte`.

    python -m benchmarks.executorch_runner BUNDLE_DIR [--new-tokens 64] [--repeats 5] [--threads N]

Both generate greedily from the same prompt, alternating, in one process; decode tokens/s is
(generated - 1) / (last token - first token) for both (the runner's own Stats timestamps, the SDK's
Timings). Prints min/median/max of each and the ratio of the medians; the SDK's target is >= 0.97.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

PROMPT = "The history of the bicycle"


def runner_decode_rate(runner, config) -> float:
    stats = []
    runner.reset()  # else the runner continues the previous generation's KV cache (a chat turn)
    runner.generate(PROMPT, config, token_callback=lambda _piece: None, stats_callback=stats.append)
    s = stats[-1]
    return (s.num_generated_tokens - 1) / max(s.inference_end_ms - s.first_token_ms, 1) * 1000


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)

    from executorch.extension.llm.runner import GenerationConfig, TextLLMRunner

    import infir_edge

    engine = infir_edge.load(args.bundle, backend="executorch", threads=args.threads)
    runner = TextLLMRunner(str(args.bundle / "model.pte"), str(args.bundle / "tokenizer.json"))
    config = GenerationConfig(max_new_tokens=args.new_tokens, temperature=0.0, echo=False)
    sdk_config = infir_edge.GenerationConfig(max_new_tokens=args.new_tokens, stop=())
    runner_decode_rate(runner, config)  # warm-up: first-touch of weights and caches for both
    engine.generate(PROMPT, sdk_config)
    sdk, raw = [], []
    for _ in range(args.repeats):
        sdk.append(engine.generate(PROMPT, sdk_config).timings.decode_tokens_per_s)
        raw.append(runner_decode_rate(runner, config))
    engine.close()
    result = {
        "bundle": str(args.bundle),
        "threads": engine.threads,
        "sdk_decode_tok_s": {"min": min(sdk), "median": statistics.median(sdk), "max": max(sdk)},
        "runner_decode_tok_s": {"min": min(raw), "median": statistics.median(raw), "max": max(raw)},
        "ratio": statistics.median(sdk) / statistics.median(raw),
    }
    print(f"{'':>24}{'min':>10}{'median':>10}{'max':>10}")
    for name, key in (("SDK executorch backend", "sdk_decode_tok_s"), ("TextLLMRunner (C++)", "runner_decode_tok_s")):
        row = result[key]
        print(f"{name:>24}{row['min']:>10.1f}{row['median']:>10.1f}{row['max']:>10.1f}")
    print(f"SDK / runner decode: {result['ratio']:.3f}")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
