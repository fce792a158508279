"""`python -m training.vl --recipe R --out DIR`: data -> model -> stage 1 -> stage 2 -> stage 3 -> export -> report.

    DIR/data/<set>/ and DIR/data/test_<set>/   examples (training.vl.examples); DIR/data/filter/ the similarity
                                               filter's report and histogram
    DIR/model/                                 the initial InfiR-VL checkpoint
    DIR/<stage>/checkpoint/, train/, eval.json each stage's model, its training record, its evaluation
    DIR/bundle/                                the first export format; DIR/bundle-<format>/ the others
    DIR/report.md, report.json, report.png     the figures against the trivial baselines

Every stage is marked done in DIR/stages/<name>.json; a rerun skips what is done and resumes a training stage from its
last checkpoint. Each training stage runs in a spawned process (training.isolated: clean memory on 2 cores).
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from pathlib import Path

from infir_edge.files import atomic_write_text
from training.isolated import run_isolated
from training.pretrain.errors import TrainingError
from training.run_recipe import pin_run, run_stages
from training.vl.examples import VLExample, count_examples, read_examples, read_records, write_examples
from training.vl.recipe import VLRecipe

STAGES = ("data", "model", "stage1", "stage2", "stage3", "export", "report")


def run_vl_recipe(recipe: VLRecipe, out: str | Path, *, overwrite: bool = False, stop_after: str | None = None,
                  echo=print) -> dict:
    out = Path(out).resolve()
    if stop_after is not None and stop_after not in STAGES:
        raise TrainingError(f"--stop-after must be one of {', '.join(STAGES)}, got {stop_after!r}")
    pin_run(out, json.loads(json.dumps(recipe.as_dict(), default=str)), overwrite, TrainingError)
    return run_stages(STAGES, STAGE_FUNCTIONS, recipe, out, stop_after=stop_after, echo=echo)


# ---- data ------------------------------------------------------------------------------------------------------
def _generators(recipe: VLRecipe) -> dict:
    from training.vl.gui_data import action_examples, grounding_examples
    from training.vl.recipe import text_render_config
    from training.vl.text_render import render_examples

    data, seed = recipe.data, recipe.data.seed
    config = text_render_config(data)
    return {
        "text_render": lambda n, split: render_examples(config, n, seed=seed, split=split),
        "grounding": lambda n, split: grounding_examples(n, seed=seed, split=split),
        "actions": lambda n, split: action_examples(n, seed=seed + 1, split=split),
        "sizes": {"text_render": (data.text_render, data.test_text_render),
                  "grounding": (data.grounding, data.test_grounding),
                  "actions": (data.actions, data.test_actions)},
    }


def stage_data(recipe: VLRecipe, out: Path, results: dict, echo) -> dict:
    from training.vl.similarity import SimilarityFilter, build_scorer

    captions = recipe.data.captions
    if captions and not (Path(captions) / "examples.jsonl").is_file():  # before an hour of generation, not after
        raise TrainingError(f"data.captions: {captions} holds no examples.jsonl (the folder format of "
                            "training.vl.examples: images/ + examples.jsonl)")
    generators, folder, counts, filters = _generators(recipe), out / "data", {}, {}
    sources = [(name, split, (lambda g=generators[name], n=n, split=split: g(n, split)))
               for name, (n_train, n_test) in generators["sizes"].items()
               for split, n in (("train", n_train), ("test", n_test)) if n]
    if recipe.data.captions:  # paper scale: captions/QA from the user's folder (training.vl.examples' format)
        sources.append(("captions", "train", lambda: read_examples(recipe.data.captions)))
    for name, split, examples in sources:
        target = folder / (name if split == "train" else f"test_{name}")
        # the paper filters image-text pairs by similarity before training on them: the rendered text and captions
        report = folder / ("filter" if name == "text_render" else f"filter_{name}")
        filtered = split == "train" and name in ("text_render", "captions")
        if not target.is_dir() or (filtered and not (report / "similarity.json").is_file()):
            started = time.perf_counter()
            if filtered:
                step = SimilarityFilter(build_scorer(recipe.data.similarity_scorer),
                                        threshold=recipe.data.similarity_threshold)
                write_examples(target, step.run(examples()), overwrite=True)
                step.report(report)
            else:
                write_examples(target, examples(), overwrite=True)
            echo(f"   {target.name}: {count_examples(target):,} examples in {time.perf_counter() - started:.0f} s")
        counts[target.name] = count_examples(target)
        if filtered:
            filters[name] = json.loads((report / "similarity.json").read_text())
    return {"examples": counts, "similarity_filter": filters.get("text_render", {}), "similarity_filters": filters}


def _draw(out: Path, name: str, n: int, seed: int, encoder) -> list:
    """`n` examples (0: all) of data set `name` or `name:kind`, a seeded sample, encoded for the model."""
    data_set, _, kind = name.partition(":")
    folder = out / "data" / data_set
    if not folder.is_dir():
        raise TrainingError(f"data set {data_set!r} was not generated (is its size 0 in the recipe?)")
    records = [r for r in read_records(folder) if not kind or r["kind"] == kind]
    random.Random(seed).shuffle(records)
    chosen = records[:n] if n else records
    return [encoder.encode(e) for e in read_examples(folder, records=chosen, square=encoder.image_size)]


def encoded_data(out: Path, stage, encoder) -> tuple[list, int]:
    """The stage's examples as model inputs, and how many were left out for not fitting its max_length."""
    encoded = [e for name, n in stage.data.items() for e in _draw(out, name, n, stage.seed, encoder)]
    kept = [e for e in encoded if e is not None]
    return kept, len(encoded) - len(kept)


# ---- the model and the stages ----------------------------------------------------------------------------------
def stage_model(recipe: VLRecipe, out: Path, results: dict, echo) -> dict:
    from infir_edge.models.vl import write_vl_checkpoint
    from training.vl.recipe import tower_shape

    m = recipe.model
    target = out / "model"
    if not target.is_dir():
        write_vl_checkpoint(target, tower_shape(m), text=m.text, vision=m.vision, seed=m.seed)
    return {"checkpoint": str(target)}


def evaluate_checkpoint(recipe: VLRecipe, out: Path, checkpoint: Path, path: Path) -> dict:
    """Grounding on held-out screens and transcription on held-out renders; kept in `path` (with every answer)."""
    if path.is_file():
        return json.loads(path.read_text())["summary"]
    from infir_edge.models.vl import load_vl_checkpoint
    from training.vl.evaluate import evaluate_grounding, evaluate_transcription

    e = recipe.eval
    model, tokenizer = load_vl_checkpoint(checkpoint, dtype=recipe.model.eval_dtype)
    options = {"batch_size": e.batch_size, "max_new_tokens": e.max_new_tokens, "progress": True}
    size = model.config.vision_config.image_size
    grounding = evaluate_grounding(model, tokenizer, held_out(out, "grounding", e.grounding_items, size), **options)
    renders = held_out(out, "text_render", e.transcription_items, size, kind="transcribe")
    transcription = evaluate_transcription(model, tokenizer, renders, **options)
    summary = {"grounding_accuracy": grounding.value, "grounding_items": grounding.n,
               "transcription_exact": transcription.value, "transcription_cer": transcription.details["cer"],
               "transcription_items": transcription.n}
    atomic_write_text(path, json.dumps({"summary": summary, "grounding": grounding.details,
                                        "transcription": transcription.details}, indent=1) + "\n")
    return summary


def held_out(out: Path, name: str, n: int, square: int | None = None, kind: str | None = None) -> list[VLExample]:
    """The first `n` held-out examples of data set `name` (of one `kind` if given)."""
    folder = out / "data" / f"test_{name}"
    records = [r for r in read_records(folder) if kind is None or r["kind"] == kind][:n]
    return list(read_examples(folder, records=records, square=square))


def _stage_function(index: int):
    def run(recipe: VLRecipe, out: Path, results: dict, echo) -> dict:
        from training.vl.stage import train_stage_process

        start = results["model"]["checkpoint"] if index == 0 else results[f"stage{index}"]["checkpoint"]
        stage = recipe.stages[index]
        if recipe.processes > 1:  # FSDP2 across GPUs: torchrun starts the stage on each
            done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
                                   str(recipe.processes), "-m", "training.vl.stage", "--out", str(out),
                                   "--stage", str(index), "--from-checkpoint", start])
            if done.returncode != 0:
                raise TrainingError(f"{stage.name} failed under torchrun (exit code {done.returncode}); its "
                                    "processes printed why above; rerun the command to resume")
            summary = json.loads((out / stage.name / "train_summary.json").read_text())
        else:
            summary = run_isolated(train_stage_process, out, index, start)
        checkpoint = out / stage.name / "checkpoint"
        result = {"checkpoint": str(checkpoint), "train": summary,
                  "eval": run_isolated(evaluate_checkpoint, recipe, out, checkpoint, out / stage.name / "eval.json")}
        ev = result["eval"]
        echo(f"   {recipe.stages[index].name}: loss {result['train']['first_loss']} -> {result['train']['final_loss']}"
             f"; grounding {ev['grounding_accuracy']:.3f}, transcription exact {ev['transcription_exact']:.3f}")
        return result

    return run


# ---- export and report -------------------------------------------------------------------------------------------
def stage_export(recipe: VLRecipe, out: Path, results: dict, echo) -> dict:
    from training.vl.export_eval import export_and_score

    return export_and_score(recipe, out, Path(results["stage3"]["checkpoint"]), echo)


def stage_report(recipe: VLRecipe, out: Path, results: dict, echo) -> dict:
    from training.vl.report import write_report

    report = write_report(recipe, out, results)
    echo(f"   grounding {report['grounding_accuracy']:.3f} vs best trivial baseline {report['baseline_accuracy']:.3f} "
         f"({report['baseline_name']}); target +{recipe.targets.grounding_gain:.2f}: "
         f"{'met' if report['target_met'] else 'NOT met'}")
    return report


STAGE_FUNCTIONS = {"data": stage_data, "model": stage_model, "stage1": _stage_function(0),
                   "stage2": _stage_function(1), "stage3": _stage_function(2), "export": stage_export,
                   "report": stage_report}
