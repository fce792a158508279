"""The main job on the embedded default model: a streamed chat answer, a question reasoned step by step,
and the speed measured while doing it."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.table import Table

from infir_edge.runtime.generation import GenerationConfig
from infir_edge.runtime.loader import load

CHAT_PROMPT = "In two sentences: why run a language model on a phone instead of in the cloud?"
REASONING_QUESTION = (
    "A shop sells pencils for 3 dollars each. Tom buys 4 pencils and pays with a 20 dollar bill. "
    "How many dollars of change does he get?"
)
REASONING_EXPECTED = "8"


def run_demo(model: str = "default", backend: str | None = None, threads: int | None = None) -> None:
    console = Console(soft_wrap=True, highlight=False)
    with load(model, backend=backend, threads=threads) as engine:
        info = engine.info()
        console.print(f"[bold]model[/] {info.path}\n[bold]backend[/] {info.backend}, {info.format} "
                      f"{info.quantization}, {info.n_params / 1e6:.1f} M parameters, context {info.n_ctx}, "
                      f"{info.threads} threads")

        console.print(f"\n[bold cyan]user[/] {CHAT_PROMPT}\n[bold cyan]assistant[/] ", end="")
        stream = engine.stream([{"role": "user", "content": CHAT_PROMPT}], GenerationConfig(max_new_tokens=96))
        for piece in stream:
            sys.stdout.write(piece)
            sys.stdout.flush()
        print()
        chat = stream.result

        console.print(f"\n[bold cyan]question[/] {REASONING_QUESTION}")
        for tools in ((), ("calculator",)):
            # the model alone, then with the calculator in the decoding loop: the model plans, the device computes
            if tools:
                console.print("\n[bold cyan]the same, with the calculator[/] (tools=('calculator',))")
            reasoning = engine.reason(REASONING_QUESTION, budget=256, tools=tools)
            print(reasoning.steps.strip())
            verdict = "correct" if reasoning.answer == REASONING_EXPECTED else f"expected {REASONING_EXPECTED}"
            calls = "; calculator: " + ", ".join(f"{c.expression} = {c.result}" for c in reasoning.tool_calls)
            console.print(f"[bold]answer[/] {reasoning.answer} ({verdict}){calls if tools else ''}")

        # the speed of a plain completion with a fixed length, so runs compare
        probe = engine.generate("The history of the bicycle", GenerationConfig(max_new_tokens=64, stop=()))

    table = Table(title="measured speed")
    for column in ("run", "prompt tokens", "prefill tok/s", "generated", "decode tok/s", "first token ms"):
        table.add_column(column, justify="right")
    for name, generation in (("chat", chat), ("completion", probe)):
        t = generation.timings
        table.add_row(name, str(t.prompt_tokens), f"{t.prefill_tokens_per_s:.1f}", str(t.generated_tokens),
                      f"{t.decode_tokens_per_s:.1f}", f"{t.ttft_s * 1000:.0f}")
    console.print(table)
