"""Step 3, candidates: several responses per instruction, to be verified and ranked by the next step.

Two teachers: the teacher model over the OpenAI-compatible API (N sampled responses in the step-by-step format,
for a `teacher_share` of the instructions: on a CPU each one costs seconds), and, where the answer is computable,
the program itself: `training.sft.problems.solve` writes a step-by-step solution of a generated problem in one of
several styles, and a code task's reference solution is its answer. The program is a legitimate teacher at CPU scale
(the paper's teacher is a 32B model); its candidates pass through the same verifiers as the model's.

Long-CoT (`long_cot`, the paper's appendix): the teacher may think longer (`long_max_tokens`) and the programmatic
solutions re-check every step, so the kept chains are long ones; the report shows their length distribution.
"""

from __future__ import annotations

from dataclasses import dataclass

from training.eval.word_problems import INSTRUCTION, SYSTEM_PROMPT
from training.sft.evolve import record_rng


@dataclass
class CandidateSettings:
    teacher_n: int = 2  # teacher responses per instruction asked
    teacher_share: float = 1.0  # share of the instructions asked to the teacher (chosen by a hash of the id)
    max_tokens: int = 256
    temperature: float = 0.7
    programmatic: bool = True
    long_cot: bool = False
    long_max_tokens: int = 1024
    seed: int = 0


def teacher_messages(record: dict) -> list[dict]:
    """What the teacher is asked: the instruction as the SFT data will pose it, in the step-by-step format."""
    if record["domain"] == "math":
        return [{"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": f"{record['instruction']}\n{INSTRUCTION}"}]
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": record["instruction"]}]


def programmatic_candidates(record: dict, long_cot: bool, seed: int) -> list[dict]:
    rng = record_rng(record["id"], seed, "program")
    if record["kind"] in ("word_problem", "drill"):
        from training.sft.problems import WordProblem, solve

        problem = WordProblem.from_record(record["problem"])
        text = solve(problem, rng=rng)
        if long_cot:
            text = check_steps(text)
        return [{"text": text, "source": "program"}]
    if record["kind"] == "code":
        from training.sft.code_tasks import CodeTask, reference_response

        task = CodeTask.from_record(record["task"])
        return [{"text": reference_response(task, record["request_style"]), "source": "program"}]
    return []


def check_steps(solution: str) -> str:
    """A long chain: the solution, then every arithmetic step checked by its inverse before the answer again."""
    from training.sft.problems.worked import chains, sides

    lines = solution.rstrip().splitlines()
    answer_line = lines[-1]
    checks = []
    for chain in chains(solution):
        first, *_, c = sides(chain)
        if len(first.split()) != 3:  # a teacher's 'a + b + c = d': no single inverse
            continue
        a, op, b = first.split()
        inverse = {"+": f"{c} - {b} = {a}", "-": f"{c} + {b} = {a}", "*": f"{c} / {b} = {a}", "/": f"{c} * {b} = {a}"}
        checks.append(f"Check {a} {op} {b} = {c}: {inverse[op]}, correct.")
    return "\n".join([*lines[:-1], "Let me check each step.", *checks, answer_line])


class GenerateCandidates:
    """Maps an instruction record to the same record with `candidates`: [{"text", "source"}]."""

    name = "candidates"

    def __init__(self, settings: CandidateSettings, teacher=None) -> None:
        self.settings, self.teacher = settings, teacher

    def asks_teacher(self, record: dict) -> bool:
        rng = record_rng(record["id"], self.settings.seed, "teacher-share")
        return self.teacher is not None and self.settings.teacher_n > 0 and rng.random() < self.settings.teacher_share

    def __call__(self, record: dict) -> tuple[list[dict], list[dict]]:
        s = self.settings
        candidates = programmatic_candidates(record, s.long_cot, s.seed) if s.programmatic else []
        if self.asks_teacher(record):
            rng = record_rng(record["id"], s.seed, "teacher")
            max_tokens = s.long_max_tokens if s.long_cot else s.max_tokens
            for _ in range(s.teacher_n):
                text = self.teacher.chat(teacher_messages(record), max_tokens=max_tokens, temperature=s.temperature,
                                         seed=rng.randrange(2**31))
                candidates.append({"text": text, "source": "teacher"})
        if not candidates:
            return [], [{**record, "reason": "no candidate (no teacher asked, no program for this kind)"}]
        return [{**record, "candidates": candidates}], []
