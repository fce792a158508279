"""The synthesis pipeline: seeds -> evolve -> candidates -> rejection -> labels -> decontam -> the SFT set.

Each step is a small callable mapping one record to (kept, dropped) records; `run_step` feeds it the previous step's
kept records and logs what each input gave (`records.StepLog`), concurrently up to `workers` when the step talks to
the teacher. Everything lands in OUT/ (the `synth/` folder of a recipe run):

    seeds.jsonl  evolve.jsonl  candidates.jsonl  rejection.jsonl  labels.jsonl   step logs (resumable)
    decontam/                    the data pipeline's n-gram decontamination run on the accepted records
    accepted.jsonl               the labelled, decontaminated records
    sft.jsonl                    the SFT conversations (`training.sft.train` reads it)
    stats.json  report.md  *.png counts and distributions per step

A rerun skips every input a step already finished; a finished step is not re-read from its input at all.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from training.sft.candidates import CandidateSettings, GenerateCandidates
from training.sft.evolve import EvolveInstructions, EvolveSettings
from training.sft.labels import LabelRecords, LabelSettings
from training.sft.records import StepLog, read_jsonl, write_jsonl
from training.sft.rejection import RejectionSample, RejectionSettings
from training.sft.reward import ScorerSettings, build_scorer
from training.sft.seeds import SeedSettings, make_seeds
from training.sft.sft_set import SFTSetSettings, sft_examples
from training.sft.teacher import TeacherSettings, served_teacher


@dataclass
class DecontamSettings:
    enabled: bool = True
    n_grams: int = 10  # InfiR §2.1
    eval_files: list[str] = field(default_factory=list)  # more evaluation sets, besides HumanEval and the tiers


@dataclass
class SynthesisSettings:
    seeds: SeedSettings = field(default_factory=SeedSettings)
    evolve: EvolveSettings = field(default_factory=EvolveSettings)
    candidates: CandidateSettings = field(default_factory=CandidateSettings)
    scorer: ScorerSettings = field(default_factory=ScorerSettings)
    rejection: RejectionSettings = field(default_factory=RejectionSettings)
    labels: LabelSettings = field(default_factory=LabelSettings)
    decontam: DecontamSettings = field(default_factory=DecontamSettings)
    sft_set: SFTSetSettings = field(default_factory=SFTSetSettings)
    teacher: TeacherSettings = field(default_factory=TeacherSettings)
    workers: int = 2  # records processed at once by steps that do not call the teacher (the sandbox, mostly)


def run_step(step: Callable, inputs: list[dict], log: StepLog, *, workers: int = 1, progress: bool = True) -> StepLog:
    """Feed every input the log has not seen to `step`, `workers` at a time; each result is logged as it comes."""
    from concurrent.futures import ThreadPoolExecutor, as_completed

    from tqdm import tqdm

    done = log.done()
    todo = [r for r in inputs if r["id"] not in done]
    bar = tqdm(total=len(inputs), initial=len(inputs) - len(todo), desc=step.name, unit="record", disable=not progress)
    if workers <= 1:
        for record in todo:
            log.append(record["id"], *step(record))
            bar.update()
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(step, record): record["id"] for record in todo}
            for future in as_completed(futures):
                log.append(futures[future], *future.result())
                bar.update()
    bar.close()
    return log


def needs_teacher(settings: SynthesisSettings) -> bool:
    c = settings.candidates
    return ((c.teacher_n > 0 and c.teacher_share > 0) or settings.scorer.kind == "judge"
            or (settings.evolve.enabled and settings.evolve.teacher_rewrite > 0))


def synthesize(settings: SynthesisSettings, out: str | Path, *, progress: bool = True, echo=print) -> dict:
    """Run the pipeline into `out` (resuming); returns the stats (also `out/stats.json`)."""
    from training.sft.report import write_report

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    seeds_path = out / "seeds.jsonl"
    if not seeds_path.is_file():
        write_jsonl(seeds_path, make_seeds(settings.seeds))
    seeds = read_jsonl(seeds_path)
    echo(f"synthesis: {len(seeds):,} seeds")
    steps = {}
    teacher_context = served_teacher(settings.teacher, log_path=out / "teacher.log") if needs_teacher(settings) \
        else nullcontext(None)
    with teacher_context as teacher:
        wide = teacher.concurrency if teacher is not None else 1
        scorer = build_scorer(settings.scorer, teacher)
        plan = [
            (EvolveInstructions(settings.evolve, teacher if settings.evolve.teacher_rewrite > 0 else None), wide),
            (GenerateCandidates(settings.candidates, teacher), wide),
            (RejectionSample(settings.rejection, scorer), max(settings.workers, wide if scorer else 1)),
            (LabelRecords(settings.labels, raw_scores=settings.scorer.kind == "reward_model"), 1),
        ]
        records = seeds
        for step, workers in plan:
            log = run_step(step, records, StepLog(out / f"{step.name}.jsonl"), workers=workers, progress=progress)
            steps[step.name] = step_stats(len(records), log)
            records = log.kept()
            echo(f"synthesis: {step.name}: kept {len(records):,}")
    accepted, decontam = decontaminate(records, settings.decontam, out / "decontam", echo)
    write_jsonl(out / "accepted.jsonl", accepted)
    examples = sft_examples(accepted, settings.sft_set)
    write_jsonl(out / "sft.jsonl", examples)
    stats = {"seeds": len(seeds), "steps": steps, "decontam": decontam, "accepted": len(accepted),
             "sft_examples": len(examples)}
    write_report(out, stats, accepted, settings)
    return stats


def step_stats(inputs: int, log: StepLog) -> dict:
    reasons = Counter(r.get("reason", "?") for r in log.dropped())
    return {"inputs": inputs, "kept": len(log.kept()), "dropped": sum(reasons.values()),
            "dropped_by_reason": dict(reasons.most_common())}


def decontaminate(records: list[dict], settings: DecontamSettings, out: Path, echo) -> tuple[list[dict], dict]:
    """The data pipeline's decontam stage (datatrove's n-gram filter) over instruction + response; the records whose
    text shares an n-gram with an evaluation item are dropped."""
    if not settings.enabled or not records:
        return records, {"enabled": settings.enabled, "removed": 0}
    from training.data.documents import DOMAINS
    from training.data.pipeline import run_pipeline
    from training.data.recipe import recipe_from_dict
    from training.data.report import iter_documents
    from training.eval.word_problems import write_tier_sets

    tiers = write_tier_sets(out / "eval_sets")
    recipe = recipe_from_dict({"stages": ["decontam"], "tasks": 1, "workers": 1,
                               "decontam": {"n_grams": settings.n_grams,
                                            "eval_files": [*map(str, tiers), *settings.eval_files]}})
    documents = [{"id": r["id"], "text": f"{r['instruction']}\n{r['response']}",
                  "metadata": {"domain": r["domain"] if r["domain"] in DOMAINS else "web"}} for r in records]
    input_file = out / "input" / "records.jsonl"
    if not input_file.is_file() or read_jsonl(input_file) != documents:
        # other records than the run there was made for (steps redone, seeds added): a resumed run would keep its
        # old verdicts and count every new record as removed, so it starts over (before the new input is written,
        # so a crash in between cannot pair the new input with the old run)
        import shutil

        shutil.rmtree(out / "run", ignore_errors=True)
    write_jsonl(input_file, documents)
    run_pipeline(recipe, out / "input", out / "run", stages=["decontam"], echo=lambda line: echo(f"decontam: {line}"))
    kept_ids = {doc["id"] for doc in iter_documents(out / "run" / "kept")}
    kept = [r for r in records if r["id"] in kept_ids]
    removed = [r["id"] for r in records if r["id"] not in kept_ids]
    write_jsonl(out / "removed.jsonl", [{"id": i} for i in removed])
    return kept, {"enabled": True, "n_grams": settings.n_grams, "removed": len(removed), "removed_ids": removed[:50],
                  "eval_sets": [p.name for p in tiers] + ["humaneval", "arithmetic"] + settings.eval_files}
