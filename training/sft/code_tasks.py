"""Python coding seed tasks with checkable answers, for SFT data synthesis.

Each task is HumanEval-shaped (a stub with signature and docstring, a reference solution, a `check(candidate)` test)
but none is a HumanEval problem: HumanEval is the evaluation here, so the families in `code_families*` are simple
list, string, dictionary and integer tasks of our own, and a test checks that no task shares a 10-word n-gram with
a HumanEval prompt and solution. They teach a small chat model to answer a coding request with one correct
```python block, in the two forms it meets: a request in words ("instruction") and the evaluation's own chat prompt
("complete").

The tests' expected values are not written by hand: rendering a variant runs its reference solution (our own code,
in this process) on the family's inputs, so the tests agree with the solution by construction; a variant whose
inputs give fewer than two different answers is refused, so no constant function can pass.
"""

from __future__ import annotations

import copy
import random
import re
import textwrap
import zlib
from dataclasses import asdict, dataclass, fields
from string import Template

from training.eval.humaneval import CHAT_REQUEST, CODE_FENCE
from training.eval.humaneval import check as run_check
from training.sft.code_families import NUMBER_FAMILIES, Family
from training.sft.code_families_text import DICT_FAMILIES, TEXT_FAMILIES
from training.sft.errors import SFTError

FAMILIES: tuple[Family, ...] = (*NUMBER_FAMILIES, *TEXT_FAMILIES, *DICT_FAMILIES)
STYLES = ("instruction", "complete")
OPENINGS = (  # the instruction's first words; {call} is `name(params)`, {what} the docstring as "returns ..."
    "Write a Python function `{call}` that {what}",
    "Implement a Python function `{call}` that {what}",
    "Create a function `{call}` in Python that {what}",
    "Write `{call}` in Python, a function that {what}",
)
LEAD_INS = (  # the one sentence before the code in an "instruction" reply
    "Here is the function:",
    "Here is one way to write `{fn}`:",
    "This implementation does it:",
    "Here is `{fn}`:",
)
OPEN_FENCE = re.compile(r"```(?:python|py)[ \t]*\n", re.IGNORECASE)
DOC_WIDTH = 100


@dataclass(frozen=True)
class CodeTask:
    task_id: str  # "<family>/<variant index>": the same variant has the same id whatever the seed
    family: str
    instruction: str  # the request in words
    stub: str  # signature + docstring, a HumanEval-style prompt
    entry_point: str
    solution: str  # the complete reference function
    tests: str  # `def check(candidate):` with its asserts

    def to_record(self) -> dict:
        return asdict(self)

    @classmethod
    def from_record(cls, record: dict) -> CodeTask:
        missing = [f.name for f in fields(cls) if not isinstance(record.get(f.name), str)]
        if missing:
            raise SFTError(f"code task record {record.get('task_id', '?')!r}: missing or not text: {missing}")
        return cls(**{f.name: record[f.name] for f in fields(cls)})


def render_task(family: Family, index: int, opening: str = OPENINGS[0]) -> CodeTask:
    """Variant `index` of `family`, its instruction begun with `opening`."""
    chosen = family.choice(index)
    fn = chosen["fn"]
    params = {key: chosen[key] for key in family.params}
    consts = {key: repr(chosen[key]) for key in family.consts}
    code_names = {"fn": fn, **params, **consts}
    signature = Template(family.sig).substitute(code_names)
    solution = f"def {fn}{signature}:\n{textwrap.indent(Template(family.body).substitute(code_names), '    ')}\n"
    results = _reference_results(solution, fn, family.inputs)
    if len({repr(r) for r in results}) < 2:
        raise SFTError(f"code task {family.name}/{index}: every test input has the same answer {results[0]!r}")

    doc = Template(family.doc).substitute({**params, **consts})
    example = f">>> {fn}({_arguments(family.inputs[0])})\n{results[0]!r}"
    docstring = "\n".join([*textwrap.wrap(doc, DOC_WIDTH), "", *example.splitlines()])
    stub = f'def {fn}{signature}:\n    """{textwrap.indent(docstring, "    ").lstrip()}\n    """\n'
    tests = "def check(candidate):\n" + "".join(
        f"    assert candidate({_arguments(args)}) == {result!r}\n" for args, result in zip(family.inputs, results,
                                                                                          strict=True))

    words = Template(family.doc).substitute({**{k: f"`{v}`" for k, v in params.items()}, **consts})
    call = f"{fn}({', '.join(params.values())})"
    instruction = opening.format(call=call, what="returns " + words.removeprefix("Return "))
    return CodeTask(task_id=f"{family.name}/{index}", family=family.name, instruction=instruction, stub=stub,
                    entry_point=fn, solution=solution, tests=tests)


def _arguments(args: tuple) -> str:
    return ", ".join(repr(a) for a in args)


def _reference_results(solution: str, fn: str, inputs: tuple[tuple, ...]) -> list:
    namespace: dict = {}
    exec(compile(solution, f"<reference {fn}>", "exec"), namespace)  # our own reference code, not a model's
    function = namespace[fn]
    return [function(*copy.deepcopy(args)) for args in inputs]  # a copy: a solution must not see another's mutation


def generate_code_tasks(count: int, *, seed: int) -> list[CodeTask]:
    """`count` tasks with distinct instructions. The families take turns in a seeded order, each giving its variants
    in a seeded order, so any `count` of at least len(FAMILIES) has every family."""
    capacity = sum(family.size for family in FAMILIES)
    if not 0 <= count <= capacity:
        raise SFTError(f"code tasks: count must be between 0 and {capacity}, not {count}")
    rng = random.Random(seed)
    queues = []
    for family in FAMILIES:
        order = list(range(family.size))
        rng.shuffle(order)
        queues.append((family, order))
    rng.shuffle(queues)
    tasks: list[CodeTask] = []
    seen: set[str] = set()
    while len(tasks) < count:
        if not any(order for _, order in queues):  # only if two variants rendered one instruction
            raise SFTError(f"code tasks: only {len(tasks)} distinct instructions, not {count}")
        for family, order in queues:
            if order and len(tasks) < count:
                task = render_task(family, order.pop(), rng.choice(OPENINGS))
                if task.instruction not in seen:
                    seen.add(task.instruction)
                    tasks.append(task)
    return tasks


def request_text(task: CodeTask, style: str) -> str:
    """The user message: the instruction, or the evaluation's chat request around the stub."""
    if style == "instruction":
        return task.instruction
    if style == "complete":
        return CHAT_REQUEST.format(prompt=task.stub)
    raise SFTError(f"code request style must be one of {list(STYLES)}, not {style!r}")


def reference_response(task: CodeTask, style: str) -> str:
    """The programmatic teacher's reply. For "complete" the code block alone: the evaluation starts the answer with
    the opening fence and cuts it at the closing one, so anything else would be trained but never used."""
    block = f"{CODE_FENCE}{task.solution}```"
    if style == "complete":
        return block
    if style == "instruction":
        lead_in = LEAD_INS[zlib.crc32(task.task_id.encode()) % len(LEAD_INS)]  # stable across processes
        return f"{lead_in.format(fn=task.entry_point)}\n\n{block}"
    raise SFTError(f"code request style must be one of {list(STYLES)}, not {style!r}")


def code_from_response(text: str) -> str | None:
    """The code of a reply's last ```python block; of an opening fence never closed, everything after it."""
    openings = list(OPEN_FENCE.finditer(text))
    if not openings:
        return None
    start = openings[-1].end()
    end = text.find("```", start)
    return text[start:] if end < 0 else text[start:end]


def check_solution(task: CodeTask, code: str, limits=None) -> dict:
    """Run `code`, the task's tests and `check(entry_point)` in the sandbox: {"status", "reason", "isolation"}.

    It goes through the HumanEval check (an empty prompt, `code` as the completion), so it gets the same program
    shape and the same nonce: code that calls sys.exit(0) before the tests does not pass."""
    problem = {"prompt": "", "test": task.tests, "entry_point": task.entry_point}
    return run_check(problem, code, limits)
