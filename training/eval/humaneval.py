"""HumanEval pass@1 on an Engine: one greedy completion per problem, run with the problem's tests in the sandbox.

As in the Codex paper (Chen et al. 2021), the program `prompt + completion + test + check(entry_point)` passes when
it exits cleanly. Two ways to ask the model:

- "completion": the prompt (signature and docstring) as plain text, what a base model expects; the model continues
  the body, cut at the next top-level statement (Codex's stop sequences);
- "chat": the model's chat template asking it to complete the function, its answer begun with a ```python line;
  the model writes the whole function, cut at the end of the code block (or at top-level test code). The completion
  is that function after a newline: the prompt's own function (a docstring is a body) stays for its imports and
  helpers, and the model's definition replaces it.

"chat" is the default. On the embedded SmolLM2-135M-Instruct (llama.cpp, all 164 problems) it passes 9, "completion"
none: the instruction-tuned model answers a bare prompt by closing a code block it imagines, or by calling the
function. Every result records the style used.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Literal

from infir_edge.errors import InvalidRequestError
from training.eval.sandbox import SandboxLimits, run_in_sandbox

PromptStyle = Literal["completion", "chat"]
STOP = ("\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\n#")  # the next top-level statement
CHAT_STOP = ("```", "\nif __name__", "\nprint(", "\nassert ")  # the block's end, or code that tries the function
CHAT_REQUEST = "Complete the following Python function.\n\n```python\n{prompt}```"
CODE_FENCE = "```python\n"


@dataclass(frozen=True)
class HumanEvalConfig:
    prompt_style: PromptStyle = "chat"
    max_new_tokens: int = 384  # cut to what the context leaves after the prompt
    limits: SandboxLimits = field(default_factory=lambda: SandboxLimits(cpu_s=5, wall_s=10))


def model_prompt(engine, problem: dict, style: PromptStyle) -> str:
    """The text the model continues."""
    if style == "completion":
        return problem["prompt"]
    if style == "chat":
        request = CHAT_REQUEST.format(prompt=problem["prompt"])
        return engine.apply_chat_template([{"role": "user", "content": request}]) + CODE_FENCE
    raise InvalidRequestError(f"prompt style must be 'completion' or 'chat', not {style!r}")


def completions(engine, problems: list[dict], config: HumanEvalConfig, progress: bool = False) -> list[str | None]:
    """What goes after each problem's prompt in its program; None where the prompt leaves no room in the context.
    Batched on the torch backend (`greedy_replies`), one by one elsewhere."""
    from training.eval.batched import greedy_replies

    chat = config.prompt_style == "chat"
    prompts = [model_prompt(engine, problem, config.prompt_style) for problem in problems]
    fits = [engine.n_ctx - len(engine.prompt_ids(prompt)) >= 1 for prompt in prompts]
    kept = [p for p, ok in zip(prompts, fits, strict=True) if ok]
    texts = iter(greedy_replies(engine, kept, max_new_tokens=config.max_new_tokens,
                                stop=CHAT_STOP if chat else STOP, progress=progress, desc="humaneval"))
    return [(("\n" if chat else "") + next(texts).text) if ok else None for ok in fits]


def program(problem: dict, completion: str) -> str:
    """The program that passes when the completion is correct (the human-eval harness's own assembly)."""
    return f"{problem['prompt']}{completion}\n{problem['test']}\ncheck({problem['entry_point']})\n"


def check(problem: dict, completion: str, limits: SandboxLimits | None = None) -> dict:
    """Run the program in the sandbox: {"status", "reason", "isolation"}.

    A clean exit is not enough: code that calls sys.exit(0) before the tests would pass. The program ends by printing
    a nonce drawn after the completion was written, so only a run that got through `check` can show it (the
    human-eval harness counts SystemExit as a failure for the same reason)."""
    nonce = secrets.token_hex(16)
    result = run_in_sandbox(f"{program(problem, completion)}print({nonce!r})\n", limits)
    status, reason = result.status, result.reason
    if status == "passed" and not result.stdout.rstrip().endswith(nonce):
        status, reason = "failed", "exited before its tests had run"
    return {"status": status, "reason": reason, "isolation": result.isolation}


def run_humaneval(engine, *, limit: int | None = None, config: HumanEvalConfig | None = None,
                  progress: bool = False) -> tuple[dict, list[dict]]:
    """pass@1 over the first `limit` problems (all 164 by default); returns (figures, one record per problem)."""
    from infir_edge.corpora import humaneval_problems

    config = config or HumanEvalConfig()
    problems = humaneval_problems()[:limit]
    records, layers = [], []
    for problem, completion in zip(problems, completions(engine, problems, config, progress), strict=True):
        if completion is None:
            outcome = {"status": "error", "reason": "the prompt does not fit in the context"}
        else:
            outcome = check(problem, completion, config.limits)
            layers = outcome["isolation"]
        records.append({"task_id": problem["task_id"], "status": outcome["status"], "reason": outcome["reason"],
                        "completion": completion})
    passed = sum(r["status"] == "passed" for r in records)
    figures = {
        "pass@1": passed / len(records) if records else 0.0,
        "passed": passed,
        "problems": len(records),
        "prompt_style": config.prompt_style,
        "max_new_tokens": config.max_new_tokens,
        "sandbox": layers,  # the isolation layers the programs ran under
    }
    return figures, records


def canonical_failures(problems, limits: SandboxLimits | None = None) -> list[dict]:
    """Run each problem's canonical solution in the sandbox; the ones that do not pass (none should)."""
    failures = []
    for problem in problems:
        outcome = check(problem, problem["canonical_solution"], limits)
        if outcome["status"] != "passed":
            failures.append({"task_id": problem["task_id"], **outcome})
    return failures
