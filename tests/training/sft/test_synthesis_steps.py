"""The synthesis steps one by one: evolve, candidates, the verifiers and scorers, rejection sampling, labels and the
SFT set. The teacher here is a stand-in with the Teacher's `chat` signature and canned replies (the real server is
exercised in test_synthesis_pipeline.py)."""

from __future__ import annotations

import re
import shutil
import threading
from functools import cache

import pytest

from training.eval.word_problems import INSTRUCTION as EVAL_INSTRUCTION
from training.eval.word_problems import SYSTEM_PROMPT as EVAL_SYSTEM_PROMPT
from training.sft.candidates import CandidateSettings, GenerateCandidates, check_steps
from training.sft.errors import SFTError
from training.sft.evolve import EvolveInstructions, EvolveSettings, rewrite_problem
from training.sft.labels import LabelRecords, LabelSettings, format_checks
from training.sft.problems import WordProblem
from training.sft.problems.problem import build
from training.sft.problems.worked import chains
from training.sft.rejection import RejectionSample, RejectionSettings
from training.sft.reward import JudgeScorer, RewardModelScorer, ScorerSettings, build_scorer, verify
from training.sft.seeds import MathSeeds, SeedSettings, make_seeds
from training.sft.sft_set import SFTSetSettings, conversation, raw_examples, select


class FakeTeacher:
    """`chat` as the Teacher's, answering with `reply(messages)`; counts the calls."""

    def __init__(self, reply) -> None:
        self.reply = reply if callable(reply) else (lambda messages: reply)
        self.calls = 0
        self._lock = threading.Lock()

    def chat(self, messages, max_tokens, temperature=0.0, seed=None, stop=None) -> str:
        with self._lock:
            self.calls += 1
        return self.reply(messages)


class CountingScorer:
    """A scorer giving each answer `score(answer)`; counts its calls."""

    def __init__(self, score) -> None:
        self.score, self.calls = score, 0

    def __call__(self, question: str, answers: list[str]) -> list[float | None]:
        self.calls += 1
        return [self.score(a) for a in answers]


@cache
def seeds() -> tuple[dict, ...]:
    settings = SeedSettings(math=[MathSeeds("one_two_step", 10), MathSeeds("multi_step", 6)], drills=3, code=3)
    return tuple(make_seeds(settings))


def of_kind(kind: str) -> list[dict]:
    return [r for r in seeds() if r["kind"] == kind]


def evolved(records, **settings) -> tuple[list[dict], list[dict]]:
    step = EvolveInstructions(EvolveSettings(**settings))
    kept, dropped = [], []
    for record in records:
        k, d = step(record)
        kept += k
        dropped += d
    return kept, dropped


def question_of(messages) -> str:
    return messages[-1]["content"].split("Problem: ", 1)[1]


def math(answer=12, **extra) -> dict:
    return {"id": "m", "domain": "math", "kind": "word_problem", "instruction": "How many?", "answer": answer, **extra}


def with_candidates(*texts: str, record: dict | None = None) -> dict:
    return {**(record or math()), "candidates": [{"text": t, "source": "program"} for t in texts]}


# --- evolve ----------------------------------------------------------------------------------------------------------


def test_evolve_passes_seeds_that_are_not_word_problems_through_unchanged():
    others = of_kind("drill") + of_kind("code")
    assert len(others) == 6
    step = EvolveInstructions(EvolveSettings(per_seed=2))
    for record in others:
        assert step(record) == ([record], [])


def test_every_evolved_answer_is_its_problems_answer_and_its_text_is_new():
    kept, _ = evolved(of_kind("word_problem"), per_seed=2)
    parents = {r["id"]: r for r in seeds()}
    variants = [r for r in kept if r["origin"] == "evolved"]
    assert len(variants) >= 20
    for record in variants:
        problem = WordProblem.from_record(record["problem"])
        assert record["answer"] == problem.answer == build(record["problem"]["program"]).answer  # re-solved
        assert record["instruction"] == problem.question
        assert record["instruction"] != parents[record["parent"]]["instruction"]
        assert record["evolution"] and record["kind"] == "word_problem"


def test_evolved_ids_and_records_do_not_depend_on_the_order_of_processing():
    forward, _ = evolved(of_kind("word_problem"), per_seed=2)
    backward, _ = evolved(of_kind("word_problem")[::-1], per_seed=2)
    assert sorted(forward, key=lambda r: r["id"]) == sorted(backward, key=lambda r: r["id"])
    assert len({r["id"] for r in forward}) == len(forward)


ORIGINAL = "Tom has 5 apples and buys 3 more at the market. How many apples does Tom have now?"


@pytest.mark.parametrize(("rewritten", "reason"), [
    ("Tom has 6 apples and buys 3 more at the market. How many apples does Tom have now?", "numbers changed"),
    ("Tom has 5 apples and buys 3 more, then 2 more. How many apples does Tom have now?", "numbers changed"),
    ("Tom has 5 apples and buys 3 more at the market. Count the apples Tom has now.", "not a question"),
    (ORIGINAL, "unchanged"),
    ("  ", "empty"),
    ("Tom has 5 apples and buys 3. How many?", "length out of range"),
    ("Tom owns 5 apples and then gets 3 more at the market. What is the answer: how many now?",
     "talks about the answer"),
])  # fmt: skip
def test_rewrite_problem_rejects_a_rewrite_that_does_not_revalidate(rewritten, reason):
    assert rewrite_problem(ORIGINAL, rewritten) == reason


def test_rewrite_problem_accepts_a_paraphrase_with_the_same_numbers():
    paraphrase = "At the market, Tom buys 3 more apples; he already had 5. How many apples does Tom have now?"
    assert rewrite_problem(ORIGINAL, paraphrase) is None


def test_teacher_rewrite_without_a_teacher_is_an_error():
    with pytest.raises(SFTError, match="teacher_rewrite"):
        EvolveInstructions(EvolveSettings(teacher_rewrite=0.5))


def test_a_valid_teacher_rewrite_becomes_the_instruction_and_keeps_the_answer():
    teacher = FakeTeacher(lambda messages: "Consider this. " + question_of(messages))
    step = EvolveInstructions(EvolveSettings(per_seed=1, teacher_rewrite=1.0), teacher)
    variants = [r for seed in of_kind("word_problem")[:6] for r in step(seed)[0] if r["origin"] == "evolved"]
    assert teacher.calls == len(variants) > 0
    for record in variants:
        problem = WordProblem.from_record(record["problem"])
        assert record["instruction"] == "Consider this. " + problem.question == record["rewrite"]
        assert record["answer"] == problem.answer and record["evolution"][-1] == "teacher_rewrite"


def test_a_teacher_rewrite_that_changes_a_number_is_dropped_and_the_evolved_problem_kept_in_its_own_words():
    teacher = FakeTeacher(lambda messages: "Also 999 birds fly by. " + question_of(messages))
    step = EvolveInstructions(EvolveSettings(per_seed=1, teacher_rewrite=1.0), teacher)
    seed = of_kind("word_problem")[0]
    kept, dropped = step(seed)
    assert kept[0] == seed and len(kept) == 2
    assert kept[1]["instruction"] == WordProblem.from_record(kept[1]["problem"]).question
    assert [d["reason"] for d in dropped] == ["teacher rewrite rejected: numbers changed"]
    assert dropped[0]["id"] == kept[1]["id"] + "/rewrite"


# --- candidates ------------------------------------------------------------------------------------------------------


def test_the_programmatic_candidate_of_every_math_seed_verifies():
    step = GenerateCandidates(CandidateSettings(teacher_n=0))
    for record in of_kind("word_problem") + of_kind("drill"):
        [out], _ = step(record)
        [candidate] = out["candidates"]
        assert candidate["source"] == "program"
        assert verify(record, candidate["text"]) == (True, "answer matches")


def test_the_programmatic_candidate_of_a_code_task_passes_its_tests_in_the_sandbox():
    step = GenerateCandidates(CandidateSettings(teacher_n=0))
    record = of_kind("code")[0]
    [out], _ = step(record)
    assert verify(record, out["candidates"][0]["text"]) == (True, "passed")


def test_check_steps_keeps_the_last_line_and_adds_one_check_per_step():
    step = GenerateCandidates(CandidateSettings(teacher_n=0, long_cot=True))
    plain = GenerateCandidates(CandidateSettings(teacher_n=0))
    for record in of_kind("word_problem")[:6] + of_kind("drill"):
        solution = plain(record)[0][0]["candidates"][0]["text"]
        long = check_steps(solution)
        assert step(record)[0][0]["candidates"][0]["text"] == long
        lines, long_lines = solution.splitlines(), long.splitlines()
        assert long_lines[-1] == lines[-1] == f"The answer is {record['answer']}."
        assert long_lines[: len(lines) - 1] == lines[:-1]
        checks = [line for line in long_lines if line.startswith("Check ")]
        assert len(checks) == len(chains(solution)) > 0
        assert format_checks(long, "math")["steps_right"]  # every inverse written is right
        assert verify(record, long)[0] is True


def test_teacher_share_zero_asks_no_teacher():
    teacher = FakeTeacher("The answer is 1.")
    step = GenerateCandidates(CandidateSettings(teacher_n=2, teacher_share=0.0), teacher)
    for record in seeds():
        [out], _ = step(record)
        assert [c["source"] for c in out["candidates"]] == ["program"]
    assert teacher.calls == 0


def test_teacher_share_one_asks_the_teacher_teacher_n_times():
    teacher = FakeTeacher("The answer is 1.")
    step = GenerateCandidates(CandidateSettings(teacher_n=3, teacher_share=1.0), teacher)
    for record in seeds()[:5]:
        [out], _ = step(record)
        assert [c["source"] for c in out["candidates"]] == ["program"] + ["teacher"] * 3
    assert teacher.calls == 15


def test_a_record_with_no_candidate_is_dropped():
    prompt = {"id": "p", "domain": "general", "kind": "prompt", "instruction": "Say hi."}
    assert GenerateCandidates(CandidateSettings(teacher_n=0))(prompt)[1][0]["reason"].startswith("no candidate")


# --- verify and the scorers ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "verdict"), [
    ("7 + 5 = 12.\nThe answer is 12.", (True, "answer matches")),
    ("The answer is 12.0", (True, "answer matches")),
    ("12 apples, then 1,300 more? No: 7 + 5 = 12.", (True, "answer matches")),
    ("7 + 5 = 13.\nThe answer is 13.", (False, "answer 13 != 12")),
    ("The answer is 12, or maybe 14.", (False, "answer 14 != 12")),
])  # fmt: skip
def test_verify_math_judges_the_last_number(text, verdict):
    assert verify(math(12), text) == verdict


def test_verify_math_without_a_number_says_so():
    assert verify(math(12), "I am not sure.") == (False, "no number in the response")


def test_verify_code_runs_the_tasks_tests():
    record = of_kind("code")[0]
    task = record["task"]
    wrong = f"```python\ndef {task['entry_point']}(*args, **kwargs):\n    return None\n```"
    assert verify(record, f"```python\n{task['solution']}```")[0] is True
    assert verify(record, wrong)[0] is False
    assert verify(record, task["solution"]) == (False, "no python code block")


def test_verify_without_an_answer_has_nothing_to_check():
    prompt = {"id": "p", "domain": "general", "kind": "prompt", "instruction": "Write a haiku."}
    passed, why = verify(prompt, "An old silent pond.")
    assert passed is None and why == "nothing to verify against"


@pytest.mark.parametrize(("reply", "score"), [("7", 0.7), ("Grade: 10", 1.0), ("ten out of ten", None),
                                              ("0", None), ("11", None)])
def test_the_judge_scores_its_first_grade_and_never_makes_one_up(reply, score):
    scorer = JudgeScorer(FakeTeacher(reply))
    assert scorer("What is 2 + 3?", ["5", "6"]) == [score, score]


def test_build_scorer_needs_a_teacher_for_the_judge_and_a_path_for_a_reward_model():
    assert build_scorer(ScorerSettings(kind="none")) is None
    assert isinstance(build_scorer(ScorerSettings(kind="judge"), FakeTeacher("5")), JudgeScorer)
    for settings in (ScorerSettings(kind="judge"), ScorerSettings(kind="reward_model"), ScorerSettings(kind="x")):
        with pytest.raises(SFTError):
            build_scorer(settings)


@pytest.fixture(scope="module")
def reward_model(tiny_checkpoint, tmp_path_factory):
    """A random 2-layer LlamaForSequenceClassification (one label) with the real tokenizer."""
    import torch
    from transformers import LlamaConfig, LlamaForSequenceClassification

    config = LlamaConfig.from_pretrained(tiny_checkpoint)
    config.num_labels, config.pad_token_id = 1, 2
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("reward-model")
    LlamaForSequenceClassification(config).save_pretrained(path)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja"):
        if (tiny_checkpoint / name).exists():
            shutil.copy(tiny_checkpoint / name, path / name)
    return path


ANSWERS = ["2 + 3 = 5.\nThe answer is 5.", "It is 6, I counted it twice and I am quite sure of it."]


def test_the_reward_model_gives_one_deterministic_float_per_answer(reward_model):
    scorer = build_scorer(ScorerSettings(kind="reward_model", path=str(reward_model), batch_size=2))
    assert isinstance(scorer, RewardModelScorer)
    scores = scorer("What is 2 + 3?", ANSWERS)
    assert len(scores) == 2 and all(isinstance(s, float) for s in scores)
    assert scores[0] != scores[1]
    assert scorer("What is 2 + 3?", ANSWERS) == scores


def test_the_reward_models_scores_do_not_depend_on_the_batch(reward_model):
    batched = RewardModelScorer(str(reward_model), batch_size=2)("What is 2 + 3?", ANSWERS)
    alone = RewardModelScorer(str(reward_model), batch_size=1)("What is 2 + 3?", ANSWERS)
    assert alone == pytest.approx(batched, abs=1e-5)


def test_a_reward_model_path_that_is_no_model_is_an_sft_error(tmp_path):
    with pytest.raises(SFTError, match="reward model"):
        RewardModelScorer(str(tmp_path))


# --- rejection -------------------------------------------------------------------------------------------------------

RIGHT = "7 + 5 = 12.\nThe answer is 12."
RIGHT_LONG = "Start with 7.\nAdd 5 more: 7 + 5 = 12.\nSo the total is 12.\nThe answer is 12."
WRONG = "A beautifully reasoned and very long answer: 7 + 5 = 13.\nThe answer is 13."


def test_a_record_whose_candidates_all_fail_is_dropped():
    kept, dropped = RejectionSample(RejectionSettings())(with_candidates(WRONG, "no idea"))
    assert kept == [] and dropped[0]["reason"] == "no candidate passed"
    assert [c["verified"] for c in dropped[0]["candidates"]] == [False, False]
    assert dropped[0]["rejection"]["passed"] == 0


def test_a_wrong_candidate_is_never_kept_however_the_scorer_loves_it():
    scorer = CountingScorer(lambda a: 100.0 if a == WRONG else 0.1)
    [kept], _ = RejectionSample(RejectionSettings(prefer="longest"), scorer)(with_candidates(WRONG, RIGHT))
    assert kept["response"] == RIGHT


def test_of_two_passing_candidates_the_scorers_best_is_kept():
    scorer = CountingScorer(lambda a: 0.9 if a == RIGHT_LONG else 0.4)
    [kept], _ = RejectionSample(RejectionSettings(prefer="shortest"), scorer)(with_candidates(RIGHT, RIGHT_LONG))
    assert kept["response"] == RIGHT_LONG and kept["reward_score"] == 0.9


def test_min_score_rejects_passing_candidates_that_score_below_it():
    scorer = CountingScorer(lambda a: 0.1)
    _, [dropped] = RejectionSample(RejectionSettings(min_score=0.5), scorer)(with_candidates(RIGHT, RIGHT_LONG))
    assert dropped["reason"] == "every passing candidate scored below 0.5"


def test_score_when_choice_scores_only_when_more_than_one_candidate_passed():
    scorer = CountingScorer(lambda a: 0.5)
    step = RejectionSample(RejectionSettings(score_when="choice", min_score=0.9), scorer)
    [kept], _ = step(with_candidates(RIGHT, WRONG))
    assert scorer.calls == 0 and kept["reward_score"] is None  # the lone verified one, on the verifier's word
    step(with_candidates(RIGHT, RIGHT_LONG))
    assert scorer.calls == 1
    RejectionSample(RejectionSettings(score_when="always"), scorer)(with_candidates(RIGHT, WRONG))
    assert scorer.calls == 2


@pytest.mark.parametrize(("prefer", "expected"), [("shortest", RIGHT), ("longest", RIGHT_LONG)])
def test_prefer_breaks_ties_by_length(prefer, expected):
    for scorer in (None, CountingScorer(lambda a: 0.5)):
        [kept], _ = RejectionSample(RejectionSettings(prefer=prefer), scorer)(with_candidates(RIGHT_LONG, RIGHT))
        assert kept["response"] == expected


def test_rejection_counts_the_teachers_candidates_and_passes():
    record = {**math(12), "candidates": [{"text": RIGHT, "source": "program"}, {"text": WRONG, "source": "teacher"},
                                         {"text": RIGHT_LONG, "source": "teacher"}]}
    [kept], _ = RejectionSample(RejectionSettings())(record)
    assert kept["rejection"] == {"candidates": 3, "passed": 2, "teacher_candidates": 2, "teacher_passed": 1}


# --- labels ----------------------------------------------------------------------------------------------------------


def labelled(response: str, *, asked: int = 1, passed: int = 1, score: float | None = None, raw_scores: bool = False,
             **settings) -> dict:
    record = {**math(), "response": response, "reward_score": score,
              "rejection": {"candidates": asked + 1, "passed": passed + 1, "teacher_candidates": asked,
                            "teacher_passed": passed}}
    [out], _ = LabelRecords(LabelSettings(**settings), raw_scores=raw_scores)(record)
    return out["labels"]


SHORT_CHAIN = "7 + 5 = 12.\nThe answer is 12."
LONG_CHAIN = "3 * 4 = 12.\n12 + 6 = 18.\n18 - 2 = 16.\n16 / 2 = 8.\n8 + 4 = 12.\nThe answer is 12."


def test_a_longer_chain_is_more_difficult():
    assert labelled(LONG_CHAIN)["difficulty"] > labelled(SHORT_CHAIN)["difficulty"]


def test_an_instruction_the_teacher_failed_is_more_difficult():
    assert labelled(SHORT_CHAIN, passed=0)["difficulty"] > labelled(SHORT_CHAIN, passed=1)["difficulty"]
    assert labelled(SHORT_CHAIN, asked=0, passed=0)["difficulty"] > labelled(SHORT_CHAIN)["difficulty"]


@pytest.mark.parametrize(("response", "asked", "passed", "difficulty", "level"), [
    ("The answer is 12.", 1, 1, 0.0, "easy"),                         # teacher passed, no steps
    (SHORT_CHAIN, 0, 0, 0.35, "medium"),                               # not asked (0.5), 1 of 5 steps
    ("3 * 4 = 12.\n12 + 6 = 18.\n" + SHORT_CHAIN, 0, 0, 0.55, "medium"),
    ("3 * 4 = 12.\n12 + 6 = 18.\n18 - 6 = 12.\n" + SHORT_CHAIN, 0, 0, 0.65, "hard"),
    (LONG_CHAIN, 2, 0, 1.0, "hard"),
])  # fmt: skip
def test_difficulty_is_bucketed_into_levels(response, asked, passed, difficulty, level):
    labels = labelled(response, asked=asked, passed=passed)
    assert labels["difficulty"] == pytest.approx(difficulty) and labels["level"] == level


def test_format_checks_catch_a_wrong_arithmetic_line():
    checks = format_checks("7 + 5 = 13.\nThe answer is 13.", "math")
    assert checks["shows_steps"] and not checks["steps_right"]
    assert format_checks(SHORT_CHAIN, "math") == {"shows_steps": True, "steps_right": True, "ends_on_answer": True,
                                                  "no_repeated_lines": True}
    assert labelled("7 + 5 = 13.\nThe answer is 13.")["quality"] == 0.75
    assert labelled(SHORT_CHAIN)["quality"] == 1.0


def test_quality_is_the_judges_grade_when_judged():
    assert labelled(SHORT_CHAIN, score=0.3)["quality"] == 0.3
    assert labelled("7 + 5 = 13.\nThe answer is 13.", score=1.0)["quality"] == 1.0  # the grade, not the format


def test_quality_of_a_reward_models_raw_scores_follows_the_score():
    qualities = [labelled(SHORT_CHAIN, score=s, raw_scores=True)["quality"] for s in (-2.0, -0.1, 0.0, 0.9, 1.1, 3.0)]
    assert qualities == sorted(qualities) and len(set(qualities)) == 6
    assert qualities[2] == 0.5 and all(0.0 < q < 1.0 for q in qualities)


# --- the SFT set -----------------------------------------------------------------------------------------------------


def records_for_sft(n: int = 60) -> list[dict]:
    return [{"id": f"math/x/{i:03d}", "domain": "math", "kind": "word_problem", "instruction": f"Question {i}?",
             "response": f"The answer is {i}.", "origin": "seed",
             "labels": {"quality": (i % 10) / 10, "level": ("easy", "medium", "hard")[i % 3], "difficulty": 0.5}}
            for i in range(n)]


def test_a_conversation_ends_with_the_assistants_response():
    for record in records_for_sft():
        messages = conversation(record, record["response"], seed=0)
        assert messages[-1] == {"role": "assistant", "content": record["response"]}
        assert messages[-2]["role"] == "user" and messages[-2]["content"].startswith(record["instruction"])


def test_prompt_variants_are_drawn_deterministically_per_id():
    records = records_for_sft()
    first = [conversation(r, r["response"], seed=0) for r in records]
    assert first == [conversation(r, r["response"], seed=0) for r in reversed(records)][::-1]
    systems = {m[0]["content"] if m[0]["role"] == "system" else None for m in first}
    users = {m[-2]["content"].split("\n", 1)[1] if "\n" in m[-2]["content"] else "" for m in first}
    assert len(systems) >= 3 and len(users) >= 3


def test_the_evaluations_convention_is_among_the_variants():
    evaluation = [m for r in records_for_sft() if (m := conversation(r, r["response"], seed=0))
                  and m[0] == {"role": "system", "content": EVAL_SYSTEM_PROMPT}
                  and m[1]["content"] == f"{r['instruction']}\n{EVAL_INSTRUCTION}"]
    assert evaluation
    no_system = [m for r in records_for_sft() if (m := conversation(r, r["response"], seed=0))[0]["role"] == "user"]
    assert no_system  # the model's default system prompt


def test_select_respects_min_quality_and_max_examples():
    records = records_for_sft()
    good = select(records, SFTSetSettings(min_quality=0.5))
    assert len(good) == 30 and all(r["labels"]["quality"] >= 0.5 for r in good)
    for max_examples in (1, 10, 17, 29):
        chosen = select(records, SFTSetSettings(min_quality=0.5, max_examples=max_examples))
        assert len(chosen) == max_examples  # never more, and never fewer while there are more to choose from
        assert len({r["id"] for r in chosen}) == max_examples
        assert all(r["labels"]["quality"] >= 0.5 for r in chosen)
    assert select(records, SFTSetSettings(max_examples=10)) == select(records, SFTSetSettings(max_examples=10))


def test_select_weights_the_levels():
    records = records_for_sft()
    weights = {"easy": 0.0, "medium": 1.0, "hard": 1.0}
    chosen = select(records, SFTSetSettings(max_examples=20, level_weights=weights))
    assert {r["labels"]["level"] for r in chosen} == {"medium", "hard"}


def test_raw_examples_give_one_example_per_candidate():
    records = [{**r, "candidates": [{"text": f"c{k}", "source": s} for k, s in enumerate(["program", "teacher"][:n])]}
               for r, n in zip(records_for_sft(6), [1, 2, 1, 2, 2, 1], strict=True)]
    examples = raw_examples(records, seed=0)
    assert len(examples) == 9
    assert sorted(e["id"] for e in examples) == sorted(f"{r['id']}#{k}" for r in records
                                                       for k in range(len(r["candidates"])))
    for e in examples:
        k = int(re.search(r"#(\d)$", e["id"]).group(1))
        assert e["messages"][-1]["content"] == f"c{k}" and e["source"] == ("program", "teacher")[k]
