"""Step-by-step reasoning on a small model: the chain, the final answer, votes and a thinking budget.

`votes` and `budget` are the accuracy/latency dial of a model on a phone: one greedy chain is the
fastest answer; k sampled chains with a majority vote (self-consistency, Wang et al. 2023) buy accuracy
with k times the decode; a budget cuts a chain that rambles after N tokens and forces the answer out.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from infir_edge.errors import ContextOverflowError, InvalidRequestError
from infir_edge.runtime.generation import GenerationConfig
from infir_edge.tools import ToolCall

AnswerFormat = Literal["auto", "number", "choice", "code", "text"]

SYSTEM_PROMPT = "You are a careful assistant. Reason step by step, then state the final answer."
INSTRUCTION = {
    "number": "Solve this step by step. End with a line of the form 'The answer is N.' where N is a number.",
    "choice": "Think step by step. End with a line of the form 'The answer is X.' where X is the letter of the choice.",
    "code": "Think step by step, then give the complete solution in one ```python code block.",
    "text": "Think step by step. End with a line of the form 'The answer is ...'.",
}
ANSWER_CUE = "\nThe answer is"  # appended when the budget runs out, to force the answer out
CODE_CUE = "\n```python\n"
FORCED_ANSWER_TOKENS = {"code": 192}  # tokens for a forced answer; 48 for anything but code
RETOKENIZE_MARGIN = 16

_NUMBER = r"-?\$?\d[\d,]*(?:\.\d+)?"
_CUED = re.compile(r"(?:answer is|answer:|=>|####)\s*:?\s*(.+)", re.IGNORECASE)
_BOXED = re.compile(r"\\boxed\{([^{}]*)\}")
_CODE = re.compile(r"```(?:python|py)?\s*\n(.*?)(?:```|\Z)", re.DOTALL)
_CHOICE_LINE = re.compile(r"^\s*\(?([A-E])[).:]\s+\S", re.MULTILINE)


@dataclass
class Reasoning:
    answer: str | None  # the majority answer (None if no chain gave one)
    steps: str  # the reasoning text of a chain that gave the answer
    votes: dict[str, int] = field(default_factory=dict)  # answer -> number of chains that gave it
    chains: list[str] = field(default_factory=list)  # every chain, in order
    budget_exhausted: int = 0  # how many chains were cut by the thinking budget
    tool_calls: list[ToolCall] = field(default_factory=list)  # every chain's, in order


def guess_format(question: str) -> AnswerFormat:
    if len(_CHOICE_LINE.findall(question)) >= 2:
        return "choice"
    if re.search(r"\b(write|implement|code|function|program|python)\b", question, re.IGNORECASE):
        return "code"
    return "number"


def normalize_number(text: str) -> str | None:
    match = re.search(_NUMBER, text)
    if not match:
        return None
    value = match.group(0).replace("$", "").replace(",", "")
    if "." in value:
        value = value.rstrip("0").rstrip(".")
    return "0" if value in ("-0", "") else value


def extract_answer(text: str, answer_format: AnswerFormat) -> str | None:
    """The final answer written in a chain: after a cue ('The answer is', 'Answer:', \\boxed{}), else the last one."""
    if answer_format == "code":
        blocks = _CODE.findall(text)
        return blocks[-1].strip() if blocks else None
    cued = [m.group(1) for m in _CUED.finditer(text)] + _BOXED.findall(text)
    if answer_format == "number":
        for candidate in reversed(cued):
            number = normalize_number(candidate.split("=")[-1])  # "The answer is 12 + 30 = 42" -> 42
            if number is not None:
                return number
        numbers = re.findall(_NUMBER, text)
        return normalize_number(numbers[-1]) if numbers else None
    if answer_format == "choice":
        for candidate in reversed(cued):
            letter = re.search(r"\(?\b([A-E])\b\)?", candidate)
            if letter:
                return letter.group(1)
        letters = re.findall(r"\(([A-E])\)|\b([A-E])[).]", text)
        return (letters[-1][0] or letters[-1][1]) if letters else None
    return cued[-1].strip().rstrip(".") if cued else None


def reason(
    engine,
    question: str,
    *,
    votes: int = 1,
    budget: int | None = 512,
    answer_format: AnswerFormat = "auto",
    temperature: float | None = None,
    seed: int = 0,
    system_prompt: str | None = SYSTEM_PROMPT,
    tools: tuple[str, ...] = (),
) -> Reasoning:
    """Answer `question` step by step.

    votes: chains to sample; more than one samples at `temperature` (default 0.7) and takes the majority.
    budget: thinking tokens per chain; a chain still going at the budget is cut and its answer forced.
    answer_format: what the answer looks like ("auto" guesses from the question).
    tools: tools the chains may call (`("calculator",)`); their answers are forced, not counted in the budget.
    """
    if not isinstance(question, str) or not question.strip():
        raise InvalidRequestError("the question is empty")
    if not _positive_int(votes):
        raise InvalidRequestError(f"votes must be an integer >= 1, got {votes!r}")
    if budget is not None and not _positive_int(budget):
        raise InvalidRequestError(f"budget must be an integer >= 1 or None, got {budget!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InvalidRequestError(f"seed must be an integer >= 0, got {seed!r}")
    if not isinstance(answer_format, str) or answer_format not in ("auto", *INSTRUCTION):
        choices = ", ".join(("auto", *INSTRUCTION))
        raise InvalidRequestError(f"answer_format must be one of {choices}; got {answer_format!r}")
    fmt = guess_format(question) if answer_format == "auto" else answer_format
    if temperature is None:
        temperature = 0.0 if votes == 1 else 0.7

    messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
    messages.append({"role": "user", "content": f"{question.strip()}\n\n{INSTRUCTION[fmt]}"})
    prompt = engine.apply_chat_template(messages)
    # a cut chain is sent back as text with the cue and a forced answer after it: keep room for both, and
    # a margin because re-tokenizing generated text need not give back exactly the same tokens
    prompt_tokens = len(engine.tokenize(prompt))
    reserve = len(engine.tokenize(_cue(fmt), add_special=False)) + _forced_tokens(fmt) + RETOKENIZE_MARGIN
    room = engine.n_ctx - prompt_tokens - reserve
    if budget is None:  # think until the context is full
        budget = room
    if budget < 1 or budget > room:
        raise ContextOverflowError(prompt_tokens, max(budget, 1) + reserve, engine.n_ctx)

    result = Reasoning(answer=None, steps="")
    answers: list[str | None] = []
    for i in range(votes):
        config = GenerationConfig(max_new_tokens=budget, temperature=temperature, seed=seed + i, tools=tools)
        chain = engine.generate(prompt, config)
        result.tool_calls.extend(chain.tool_calls)
        text = chain.text
        answer = extract_answer(text, fmt)
        if chain.finish_reason == "length":
            result.budget_exhausted += 1
            forced, calls = _force_answer(engine, prompt + text, fmt, tools)
            result.tool_calls.extend(calls)
            text += forced
            answer = extract_answer(forced, fmt) or answer
        result.chains.append(text)
        answers.append(answer)

    counts = Counter(a for a in answers if a is not None)
    result.votes = dict(counts.most_common())
    if counts:
        best = max(counts.values())
        result.answer = next(a for a in answers if a is not None and counts[a] == best)  # ties: earliest chain
        result.steps = result.chains[answers.index(result.answer)]
    else:
        result.steps = result.chains[0]
    return result


def _positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _cue(fmt: AnswerFormat) -> str:
    return CODE_CUE if fmt == "code" else ANSWER_CUE


def _forced_tokens(fmt: AnswerFormat) -> int:
    return FORCED_ANSWER_TOKENS.get(fmt, 48)


def _force_answer(engine, prompt_so_far: str, fmt: AnswerFormat, tools: tuple[str, ...]) -> tuple[str, list]:
    """Close a cut chain: append the answer cue and let the model say only the answer; return both as text, and
    the tool calls the answer made."""
    cue = _cue(fmt)
    room = engine.n_ctx - len(engine.tokenize(prompt_so_far + cue))
    max_new_tokens = min(_forced_tokens(fmt), room)
    if max_new_tokens < 1:
        return "", []
    stop = ("```",) if fmt == "code" else ("\n",)
    forced = engine.generate(prompt_so_far + cue, max_new_tokens=max_new_tokens, stop=stop, tools=tools)
    return cue + forced.text + ("\n```" if fmt == "code" else ""), forced.tool_calls
