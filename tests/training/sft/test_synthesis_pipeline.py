"""The synthesis pipeline end to end with the real teacher: `infir-edge serve` on the tiny random GGUF (its replies
are gibberish, so the program's candidates carry the accepted set), the judge through the same server, and the data
pipeline's decontamination; then a rerun, a planted contamination, and the ablation arms built from the run."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from training.ablation import arm_examples
from training.eval.word_problems import EVAL_SEED, last_number, tier_items
from training.recipe import InfirRecipe
from training.sft.candidates import CandidateSettings
from training.sft.evolve import EvolveSettings
from training.sft.problems import generate_problems
from training.sft.records import StepLog, read_jsonl, write_jsonl
from training.sft.rejection import RejectionSettings
from training.sft.reward import ScorerSettings, verify
from training.sft.seeds import MathSeeds, SeedSettings, math_record
from training.sft.synthesize import SynthesisSettings, synthesize
from training.sft.teacher import Teacher, TeacherSettings

STEPS = ("evolve", "candidates", "rejection", "labels")
PNGS = ("difficulty.png", "quality.png", "response_length.png")
PLANTED = "math/planted/00000"


@dataclass
class Run:
    out: Path
    stats: dict
    settings: SynthesisSettings
    accepted: list[dict]  # as this run left them (a later test may resume the folder)
    labelled: int  # the records the labels step kept


def settings_for(tiny_gguf: Path) -> SynthesisSettings:
    return SynthesisSettings(
        seeds=SeedSettings(math=[MathSeeds("one_two_step", 8), MathSeeds("multi_step", 4)], drills=3, code=3),
        evolve=EvolveSettings(per_seed=1),
        candidates=CandidateSettings(teacher_n=1, teacher_share=0.5, max_tokens=16),
        scorer=ScorerSettings(kind="judge"),
        rejection=RejectionSettings(score_when="choice"),
        # one server thread: llama.cpp's threads spin, and two of them on two busy cores made this 20x slower
        teacher=TeacherSettings(model=str(tiny_gguf), concurrency=2, serve_threads=1),
    )


@pytest.fixture(scope="module")
def run(tmp_path_factory, tiny_gguf) -> Run:
    out = tmp_path_factory.mktemp("synth") / "synth"
    settings = settings_for(tiny_gguf)
    return synthesized(settings, out)


def synthesized(settings: SynthesisSettings, out: Path) -> Run:
    stats = synthesize(settings, out, progress=False, echo=lambda line: None)
    return Run(out, stats, settings, read_jsonl(out / "accepted.jsonl"), len(StepLog(out / "labels.jsonl").kept()))


def add_seeds(out: Path, *records: dict) -> None:
    write_jsonl(out / "seeds.jsonl", [*read_jsonl(out / "seeds.jsonl"), *records])


@pytest.fixture(scope="module")
def planted(run, tmp_path_factory) -> Run:
    """A copy of the run's step logs with a seed that is a multi_step TEST item, resumed."""
    out = tmp_path_factory.mktemp("planted") / "synth"
    # not the decontamination: its data-pipeline run pins the absolute paths of the folder it ran in
    shutil.copytree(run.out, out, ignore=shutil.ignore_patterns("decontam"))
    [problem] = generate_problems("multi_step", 1, seed=EVAL_SEED, split="test")
    assert problem.question == tier_items("multi_step", 1)[0]["question"]
    add_seeds(out, math_record(problem, PLANTED))
    return synthesized(run.settings, out)


def test_the_step_counts_add_up(run):
    steps = run.stats["steps"]
    assert list(steps) == list(STEPS)
    assert run.stats["seeds"] == steps["evolve"]["inputs"] == 8 + 4 + 3 + 3
    for before, after in zip(STEPS, STEPS[1:], strict=False):
        assert steps[after]["inputs"] == steps[before]["kept"]
    for name in STEPS:
        log = StepLog(run.out / f"{name}.jsonl")
        assert len(list(log)) == len(log.done()) == steps[name]["inputs"]  # one line per input
        assert (len(log.kept()), len(log.dropped())) == (steps[name]["kept"], steps[name]["dropped"])
        assert sum(steps[name]["dropped_by_reason"].values()) == steps[name]["dropped"]
        if name == "evolve":  # a word problem gives itself and its variant
            assert steps[name]["kept"] + steps[name]["dropped"] == steps[name]["inputs"] + 12
        else:
            assert steps[name]["kept"] + steps[name]["dropped"] == steps[name]["inputs"]
    accepted = read_jsonl(run.out / "accepted.jsonl")
    assert run.stats["accepted"] == len(accepted) == steps["labels"]["kept"] - run.stats["decontam"]["removed"]
    assert run.stats["sft_examples"] == len(read_jsonl(run.out / "sft.jsonl")) == len(accepted)


def test_the_outputs_are_written(run):
    for name in ("seeds.jsonl", *(f"{s}.jsonl" for s in STEPS), "accepted.jsonl", "sft.jsonl", "stats.json",
                 "report.md", *PNGS):
        assert (run.out / name).is_file() and (run.out / name).stat().st_size > 0, name
    report = (run.out / "report.md").read_text()
    assert all(f"| {step} |" in report for step in STEPS) and "decontam (10-grams)" in report
    assert all(f"![{png}]({png})" in report for png in PNGS)
    for example in read_jsonl(run.out / "sft.jsonl"):
        assert example["messages"][-1]["role"] == "assistant"


def test_the_teacher_was_asked_about_half_the_instructions_and_answered(run):
    records = StepLog(run.out / "candidates.jsonl").kept()
    asked = [r for r in records if any(c["source"] == "teacher" for c in r["candidates"])]
    assert 0.25 * len(records) <= len(asked) <= 0.75 * len(records)
    for record in asked:
        [reply] = [c["text"] for c in record["candidates"] if c["source"] == "teacher"]
        assert isinstance(reply, str)
    assert "serving teacher" in (run.out / "teacher.log").read_text()


def test_every_accepted_math_record_ends_on_its_answer(run):
    accepted = read_jsonl(run.out / "accepted.jsonl")
    math = [r for r in accepted if r["domain"] == "math"]
    assert len(math) >= 20 and {r["origin"] for r in math} == {"seed", "evolved"}
    for record in math:
        assert verify(record, record["response"]) == (True, "answer matches")
        assert last_number(record["response"].splitlines()[-1]) == record["answer"]
    for record in accepted:
        if record["domain"] == "code":
            assert verify(record, record["response"])[0] is True


def test_the_decontamination_ran_and_removed_nothing(run):
    decontam = run.stats["decontam"]
    assert decontam["enabled"] and decontam["removed"] == 0
    assert {"word_problems_one_two_step.jsonl", "word_problems_multi_step.jsonl", "humaneval"} <= set(
        decontam["eval_sets"])
    assert (run.out / "decontam" / "run" / "kept").is_dir()
    assert read_jsonl(run.out / "decontam" / "removed.jsonl") == []


def test_a_rerun_asks_the_teacher_nothing_and_accepts_the_same_records(run, monkeypatch):
    calls = []
    chat = Teacher.chat
    monkeypatch.setattr(Teacher, "chat", lambda self, *a, **k: calls.append(a) or chat(self, *a, **k))
    lines = {s: (run.out / f"{s}.jsonl").read_text() for s in STEPS}
    accepted = read_jsonl(run.out / "accepted.jsonl")
    stats = synthesize(run.settings, run.out, progress=False, echo=lambda line: None)
    assert calls == []
    assert {s: (run.out / f"{s}.jsonl").read_text() for s in STEPS} == lines
    assert read_jsonl(run.out / "accepted.jsonl") == accepted
    assert stats["steps"] == run.stats["steps"]


def test_a_planted_test_item_is_removed_by_the_decontamination(planted):
    decontam = planted.stats["decontam"]
    assert PLANTED in decontam["removed_ids"]
    assert all(i.startswith(PLANTED) for i in decontam["removed_ids"])  # it, or a variant still worded like it
    accepted = {r["id"] for r in planted.accepted}
    assert PLANTED not in accepted
    assert len(accepted) == planted.labelled - decontam["removed"]


def test_the_decontamination_is_redone_when_the_accepted_records_change(planted):
    """A finished decontamination run kept the records it saw; a later record must be judged, not counted removed."""
    [problem] = generate_problems("one_two_step", 1, seed=777, split="train")
    add_seeds(planted.out, math_record(problem, "math/added/00000"))
    stats = synthesize(planted.settings, planted.out, progress=False, echo=lambda line: None)
    accepted = {r["id"] for r in read_jsonl(planted.out / "accepted.jsonl")}
    assert "math/added/00000" in accepted and "math/added/00000/evo0" in accepted
    assert stats["decontam"]["removed_ids"] == planted.stats["decontam"]["removed_ids"]


# --- the ablation arms, built from the run ---------------------------------------------------------------------------


def arm(run: Run, name: str, tmp_path: Path) -> tuple[list[dict], dict]:
    path, counts = arm_examples(name, run.out, InfirRecipe(synthesis=run.settings), tmp_path / f"{name}.jsonl")
    examples = read_jsonl(path)
    assert counts["examples"] == len(examples)
    return examples, counts


def test_the_rejection_arm_trains_on_every_accepted_record(run, tmp_path):
    examples, counts = arm(run, "rejection_evolved", tmp_path)
    accepted = read_jsonl(run.out / "accepted.jsonl")
    assert sorted(e["id"] for e in examples) == sorted(r["id"] for r in accepted)
    assert counts["instructions_used"] == len(accepted)
    responses = {r["id"]: r["response"] for r in accepted}
    assert all(e["messages"][-1]["content"] == responses[e["id"]] for e in examples)


def test_the_raw_arm_has_one_example_per_candidate(run, tmp_path):
    examples, counts = arm(run, "raw_evolved", tmp_path)
    records = StepLog(run.out / "candidates.jsonl").kept()
    assert len(examples) == sum(len(r["candidates"]) for r in records)
    teacher = sum(c["source"] == "teacher" for r in records for c in r["candidates"])
    assert counts["teacher_examples"] == teacher > 0


@pytest.mark.parametrize("name", ["rejection_seeds_only", "raw_seeds_only"])
def test_the_seeds_only_arms_have_only_seeds(run, tmp_path, name):
    examples, _ = arm(run, name, tmp_path)
    assert examples and {e["origin"] for e in examples} == {"seed"}
    assert not any("/evo" in e["id"] for e in examples)
