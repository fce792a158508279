"""`run_recipe`: the whole InfiR recipe into one folder, stage after stage, resuming where a previous run stopped.

    DIR/recipe.json      the recipe this folder was made with (another one needs --overwrite)
    DIR/stages/*.json    one file per finished stage, with what it produced (a rerun skips those stages)
    DIR/anneal/          training.pretrain: DIR/anneal/base (the default, converted), DIR/anneal/final
    DIR/eval/before/     the starting model on the word-problem tiers (torch); eval/humaneval_before (llama.cpp)
    DIR/synth/           training.sft.synthesize: seeds -> evolve -> candidates -> rejection -> labels -> sft.jsonl
    DIR/sft/             training.sft.train: DIR/sft/final is the trained checkpoint
    DIR/eval/after/      the trained checkpoint on the tiers (torch)
    DIR/bundle/          the GGUF bundle (the only .gguf under DIR); DIR/exports/ the other formats asked for
    DIR/eval/bundle/     the bundle on the tiers and HumanEval (llama.cpp)
    DIR/report.md, DIR/report.json, DIR/*.png   before/after with tools off and on, targets, synthesis statistics

Every word-problem figure comes twice: the model alone and with the SDK's calculator in the decoding loop
(training/eval/word_problems.py). `run_ablation` (`python -m training ablation`) is its own command, outside the
main path's hour: it reuses the run's annealing and synthesis and writes

    DIR/ablation/<arm>/  the same SFT budget on other training sets, scored on both tiers
    DIR/ablation/report.md, report.json, report.png
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from pathlib import Path

from infir_edge.files import atomic_write_text
from training.isolated import run_isolated
from training.recipe import ARMS, InfirRecipe
from training.sft.errors import SFTError

STAGES = ("anneal", "eval_before", "synthesis", "sft", "eval_after", "export", "eval_bundle", "report")
ABLATION_STAGES = ("anneal", "synthesis", "ablation", "ablation_report")


class StageMarks:
    """DIR/stages/<name>.json: a stage's result, written when it finished."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def get(self, name: str) -> dict | None:
        path = self.folder / f"{name}.json"
        return json.loads(path.read_text()) if path.is_file() else None

    def put(self, name: str, result: dict) -> dict:
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.folder / f"{name}.json", json.dumps(result, indent=1, default=str) + "\n")
        return result


def run_recipe(recipe: InfirRecipe, out: str | Path, *, overwrite: bool = False, stop_after: str | None = None,
               echo=print) -> dict:
    """Run (or resume) the recipe into `out`; returns what DIR/report.json holds (or the stages done so far)."""
    out = Path(out).resolve()
    if stop_after is not None and stop_after not in STAGES:
        raise SFTError(f"--stop-after must be one of {', '.join(STAGES)}, got {stop_after!r}")
    pin_run(out, json.loads(json.dumps(recipe.as_dict(), default=str)), overwrite, SFTError)
    return run_stages(STAGES, STAGE_FUNCTIONS, recipe, out, stop_after=stop_after, echo=echo)


def run_ablation(recipe: InfirRecipe, out: str | Path, *, overwrite: bool = False, echo=print) -> dict:
    """The ablation arms into `out`: the run's folder (its annealing and synthesis are reused) or a new one."""
    out = Path(out).resolve()
    pin_run(out, json.loads(json.dumps(recipe.as_dict(), default=str)), overwrite, SFTError)
    return run_stages(ABLATION_STAGES, STAGE_FUNCTIONS, recipe, out, stop_after=None, echo=echo)


def run_stages(names, functions: dict, recipe, out: Path, *, stop_after: str | None, echo) -> dict:
    """Run the stages `names` in that order (`functions`: name -> function(recipe, out, results, echo)), skipping
    those marked done in OUT/stages; returns the report stage's result (or the results so far when stopped early)."""
    marks, results = StageMarks(out / "stages"), {}
    for name in names:
        function = functions[name]
        done = marks.get(name)
        if done is not None:
            echo(f"== {name}: done before, skipped")
            results[name] = done
        else:
            echo(f"== {name}")
            started = time.perf_counter()
            result = function(recipe, out, results, echo)
            results[name] = marks.put(name, {**result, "wall_s": round(time.perf_counter() - started, 1)})
        if name == stop_after:
            break
    return results.get(names[-1], results)


def pin_run(out: Path, pinned: dict, overwrite: bool, error: type[Exception]) -> None:
    """Claim `out` for the recipe `pinned` (its JSON form): a rerun of the same recipe resumes, another recipe or a
    foreign folder is refused unless `overwrite`."""
    path = out / "recipe.json"
    if path.is_file() and json.loads(path.read_text()) != pinned:
        if not overwrite:
            raise error(f"{out} holds a run of another recipe: use --overwrite to start again")
        shutil.rmtree(out)
    elif overwrite and out.exists():
        shutil.rmtree(out)
    elif out.is_dir() and not path.is_file() and any(out.iterdir()):
        raise error(f"{out} is not empty and holds no recipe run: choose another --out (or --overwrite)")
    elif out.exists() and not out.is_dir():
        raise error(f"--out {out} is a file, not a folder")
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(pinned, indent=1) + "\n")


def _starting_model(results: dict) -> tuple[str, str]:
    """(the model before training, the model SFT starts from)."""
    return results["anneal"]["before"], results["anneal"]["start"]


def stage_anneal(recipe: InfirRecipe, out: Path, results: dict, echo) -> dict:
    if recipe.pretrain is None:
        model = recipe.sft.model
        if model == "default":
            from training.pretrain.model_setup import default_checkpoint

            model = str(default_checkpoint(out, echo))
        return {"before": model, "start": model}
    from training.pretrain.config import recipe_from_dict
    from training.pretrain.trainer import run_pretraining

    final = run_isolated(run_pretraining, recipe_from_dict(recipe.pretrain, source="recipe: pretrain"), out / "anneal")
    return {"before": str(out / "anneal" / "base"), "start": str(final)}


def _evaluate(model, suites, out: Path, recipe: InfirRecipe, *, limit=None, backend=None, dtype=None) -> dict:
    from training.eval.runner import evaluate

    return evaluate(model, suites=suites, limit=limit, out=out, backend=backend, dtype=dtype,
                    threads=recipe.eval.threads, overwrite=True)


def stage_eval_before(recipe: InfirRecipe, out: Path, results: dict, echo) -> dict:
    """The model before training, on torch like the trained checkpoint: the default model rambles to the token
    limit, and a batch of 32 such replies on torch takes ~2 s a reply on 2 cores against ~3.5 s one by one on
    llama.cpp."""
    before, _ = _starting_model(results)
    tiers = _evaluate(before, ["word_problems"], out / "eval" / "before", recipe, limit=recipe.eval.reference_count,
                      backend="torch", dtype=recipe.eval.dtype)
    figures = {**_word_problem_figures(tiers), "backend": "torch", "dtype": tiers["model"]["quantization"]}
    if recipe.eval.humaneval:  # the default model as users run it: its GGUF through llama.cpp, like the bundle later
        model = "default" if _starts_from_default(recipe) else before
        humaneval = _evaluate(model, ["humaneval"], out / "eval" / "humaneval_before", recipe,
                              limit=recipe.eval.humaneval_limit)
        figures["humaneval"] = humaneval["suites"]["humaneval"]
        figures["humaneval_model"] = humaneval["model"]["path"]
    return figures


def _starts_from_default(recipe: InfirRecipe) -> bool:
    if recipe.pretrain is None:
        return recipe.sft.model == "default"
    return (recipe.pretrain.get("model") or {}).get("source", "default") == "default"


def stage_synthesis(recipe: InfirRecipe, out: Path, results: dict, echo) -> dict:
    from training.sft.synthesize import synthesize

    return synthesize(recipe.synthesis, out / "synth", echo=echo)


def _train(recipe: InfirRecipe, data: Path, out: Path, start: str, **changes) -> Path:
    """SFT in its own process (training.isolated): the recipe's process is large by now and slows it ~2x."""
    from training.sft.train import train_sft

    settings = dataclasses.replace(recipe.sft, model=start, **changes)
    return run_isolated(train_sft, data, out, settings)


def stage_sft(recipe: InfirRecipe, out: Path, results: dict, echo) -> dict:
    _, start = _starting_model(results)
    final = _train(recipe, out / "synth" / "sft.jsonl", out / "sft", start)
    return {"final": str(final), "summary": json.loads((out / "sft" / "summary.json").read_text())}


def stage_ablation(recipe: InfirRecipe, out: Path, results: dict, echo) -> dict:
    from training.ablation import arm_examples

    if not recipe.ablation.enabled:
        return {"arms": {}}
    _, start = _starting_model(results)
    arms = {}
    for arm in recipe.ablation.arms:
        folder = out / "ablation" / arm
        result_path = folder / "result.json"
        if result_path.is_file():
            arms[arm] = json.loads(result_path.read_text())
            continue
        data, counts = arm_examples(arm, out / "synth", recipe, folder / "data.jsonl")
        final = _train(recipe, data, folder / "train", start, max_steps=recipe.ablation.max_steps,
                       save_steps=max(recipe.ablation.max_steps // 2, 1))
        figures = _word_problem_figures(_evaluate(final, ["word_problems"], folder / "eval", recipe,
                                          limit=recipe.ablation.eval_items, backend="torch", dtype=recipe.eval.dtype))
        arms[arm] = {"candidates": ARMS[arm][0], "instructions": ARMS[arm][1], **counts, **figures}
        atomic_write_text(result_path, json.dumps(arms[arm], indent=1) + "\n")
        shutil.rmtree(folder / "train" / "final")  # 0.5 GB each; the figures are what the ablation keeps
        shutil.rmtree(folder / "train" / "checkpoints", ignore_errors=True)
        shown = figures["word_problems_with_tools"] or figures["word_problems"]
        echo(f"ablation {arm}: multi_step {shown['multi_step']['accuracy']:.3f}, "
             f"one_two_step {shown['one_two_step']['accuracy']:.3f}")
    return {"arms": arms, "max_steps": recipe.ablation.max_steps}


def stage_eval_after(recipe: InfirRecipe, out: Path, results: dict, echo) -> dict:
    tiers = _evaluate(results["sft"]["final"], ["word_problems"], out / "eval" / "after", recipe,
                      limit=recipe.eval.reference_count, backend="torch", dtype=recipe.eval.dtype)
    return {**_word_problem_figures(tiers), "backend": "torch", "dtype": tiers["model"]["quantization"]}


def _word_problem_figures(results: dict) -> dict:
    """An evaluation's word-problem tiers: tools off, and with the calculator (None where it was not asked)."""
    w = results["suites"]["word_problems"]
    return {"word_problems": w["tiers"], "word_problems_with_tools": (w.get("with_tools") or {}).get("tiers")}


def stage_export(recipe: InfirRecipe, out: Path, results: dict, echo) -> dict:
    from infir_edge.export import export

    final = results["sft"]["final"]
    bundles = {"gguf": str(export(final, format="gguf", quant=recipe.export.quant, out=out / "bundle",
                                  overwrite=True, threads=recipe.eval.threads))}
    for spec in recipe.export.also:
        fmt, _, quant = spec.partition(":")
        bundles[spec] = str(export(final, format=fmt, quant=quant, out=out / "exports" / f"{fmt}-{quant}",
                                   overwrite=True, threads=recipe.eval.threads))
    manifest = json.loads((out / "bundle" / "manifest.json").read_text())
    return {"bundles": bundles, "verification": manifest.get("verification")}


def stage_eval_bundle(recipe: InfirRecipe, out: Path, results: dict, echo) -> dict:
    from training.eval.word_problems import tier_figures
    from training.sft.records import read_jsonl

    bundle = out / "bundle"
    tiers = _evaluate(bundle, ["word_problems"], out / "eval" / "bundle", recipe, limit=recipe.eval.items)
    records = read_jsonl(out / "eval" / "bundle" / "word_problems.jsonl")
    first = recipe.eval.reference_count  # the bundle on the items the reference models were asked
    figures = {**_word_problem_figures(tiers), "backend": tiers["model"]["backend"],
               "reference_items": {"word_problems": tier_figures(records, with_tools=False, first=first),
                                   "word_problems_with_tools": tier_figures(records, with_tools=True, first=first)}}
    if recipe.eval.humaneval:
        humaneval = _evaluate(bundle, ["humaneval"], out / "eval" / "humaneval_bundle", recipe,
                              limit=recipe.eval.humaneval_limit)
        figures["humaneval"] = humaneval["suites"]["humaneval"]
    return figures


def stage_report(recipe: InfirRecipe, out: Path, results: dict, echo) -> dict:
    from training.recipe_report import write_recipe_report

    report = write_recipe_report(recipe, out, results)
    echo(f"report: {out / 'report.md'}")
    return report


def stage_ablation_report(recipe: InfirRecipe, out: Path, results: dict, echo) -> dict:
    from training.recipe_report import write_ablation_report

    write_ablation_report(out / "ablation", results["ablation"])
    echo(f"report: {out / 'ablation' / 'report.md'}")
    return {"arms": results["ablation"]["arms"]}


STAGE_FUNCTIONS = {
    "anneal": stage_anneal, "eval_before": stage_eval_before, "synthesis": stage_synthesis, "sft": stage_sft,
    "ablation": stage_ablation, "eval_after": stage_eval_after, "export": stage_export,
    "eval_bundle": stage_eval_bundle, "report": stage_report, "ablation_report": stage_ablation_report,
}
