"""The reward interface of rejection sampling: verifiers decide right or wrong, a scorer ranks what is right.

- Verifiers (a hard gate): math answers by exact match of the last number in the response (the judging convention
  of the evaluation), code by running the task's tests in the sandbox of `training.eval`.
- Scorers (a soft score, higher is better): a reward model (`AutoModelForSequenceClassification` from a path, e.g.
  Skywork-Reward at paper scale, run in-process in batches) or an LM judge through the teacher's API (a 1-10 grade,
  scaled to [0, 1]). A judge that cannot be parsed gives no score, never a made-up one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from training.eval.word_problems import last_number

JUDGE_PROMPT = (
    "You grade answers to questions. Question:\n{question}\n\nAnswer:\n{answer}\n\n"
    "Is the answer correct, clearly reasoned step by step, and free of irrelevant text? "
    "Reply with a single grade from 1 (bad) to 10 (excellent)."
)


def verify(record: dict, text: str, sandbox_limits=None) -> tuple[bool | None, str]:
    """(passed, why) for one candidate; passed is None when the record has nothing to check against."""
    if record["domain"] == "code" and "task" in record:
        from training.sft.code_tasks import CodeTask, check_solution, code_from_response

        code = code_from_response(text)
        if code is None:
            return False, "no python code block"
        outcome = check_solution(CodeTask.from_record(record["task"]), code, sandbox_limits)
        return outcome["status"] == "passed", outcome["reason"] or outcome["status"]
    if record.get("answer") is not None:
        predicted = last_number(text)
        if predicted is None:
            return False, "no number in the response"
        try:
            right = float(predicted) == float(record["answer"])
        except (TypeError, ValueError):
            right = str(predicted) == str(record["answer"]).strip()
        return right, "answer matches" if right else f"answer {predicted} != {record['answer']}"
    return None, "nothing to verify against"


@dataclass
class ScorerSettings:
    kind: str = "judge"  # "judge" (LM judge through the teacher's API), "reward_model" (a path) or "none"
    path: str | None = None  # the reward model, for kind "reward_model"
    batch_size: int = 8
    max_length: int = 1024
    judge_max_tokens: int = 4


class JudgeScorer:
    """An LM judge through the OpenAI-compatible teacher: the first integer 1-10 of its reply, / 10."""

    def __init__(self, teacher, max_tokens: int = 4) -> None:
        self.teacher, self.max_tokens = teacher, max_tokens

    def __call__(self, question: str, answers: list[str]) -> list[float | None]:
        scores = []
        for answer in answers:
            reply = self.teacher.chat([{"role": "user", "content": JUDGE_PROMPT.format(question=question,
                                                                                       answer=answer)}],
                                      max_tokens=self.max_tokens, temperature=0.0)
            grade = re.search(r"\b(10|[1-9])\b", reply)
            scores.append(int(grade.group(1)) / 10 if grade else None)
        return scores


class RewardModelScorer:
    """A sequence-classification reward model over the (question, answer) chat; its first logit is the score."""

    def __init__(self, path: str, *, batch_size: int = 8, max_length: int = 1024) -> None:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        from training.sft.errors import SFTError

        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path)
            self.model = AutoModelForSequenceClassification.from_pretrained(path).eval()
        except (OSError, ValueError) as e:
            raise SFTError(f"reward model {path}: {e}") from None
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model.config.pad_token_id = self.tokenizer.pad_token_id
        self.batch_size, self.max_length, self.torch = batch_size, max_length, torch

    def __call__(self, question: str, answers: list[str]) -> list[float | None]:
        texts = [self.tokenizer.apply_chat_template([{"role": "user", "content": question},
                                                     {"role": "assistant", "content": a}], tokenize=False)
                 for a in answers]
        scores: list[float | None] = []
        for start in range(0, len(texts), self.batch_size):
            batch = self.tokenizer(texts[start : start + self.batch_size], return_tensors="pt", padding=True,
                                   truncation=True, max_length=self.max_length)
            with self.torch.inference_mode():
                logits = self.model(**batch).logits  # [B, labels]
            scores += [float(x) for x in logits[:, 0]]
        return scores


def build_scorer(settings: ScorerSettings, teacher=None):
    from training.sft.errors import SFTError

    if settings.kind == "none":
        return None
    if settings.kind == "judge":
        if teacher is None:
            raise SFTError("reward.scorer.kind 'judge' needs a teacher")
        return JudgeScorer(teacher, settings.judge_max_tokens)
    if settings.kind == "reward_model":
        if not settings.path:
            raise SFTError("reward.scorer.kind 'reward_model' needs reward.scorer.path")
        return RewardModelScorer(settings.path, batch_size=settings.batch_size, max_length=settings.max_length)
    raise SFTError(f"reward.scorer.kind must be judge, reward_model or none; got {settings.kind!r}")
