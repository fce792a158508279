"""Training data when the recipe's folder is not there yet: the data pipeline (training/data) run on the built-in
corpora, so a fresh checkout trains without downloading anything."""

from __future__ import annotations

from pathlib import Path

from training.pretrain.config import BuiltinData
from training.pretrain.errors import TrainingError


def pipeline_finished(pipeline_out: Path) -> bool:
    return (pipeline_out / "stats.json").is_file()


def ensure_training_data(kept: Path, build: BuiltinData | None, echo) -> None:
    """Make `kept` exist: a folder the user gave is used as it is; a pipeline run into `kept`'s parent (started by
    an earlier attempt, or now) is run or resumed to its end."""
    pipeline_out = kept.parent
    started_here = (pipeline_out / "run.json").is_file()
    if kept.is_dir() and (not started_here or pipeline_finished(pipeline_out)):
        return
    if build is None:
        raise TrainingError(f"data.kept {kept} does not exist (set data.build_if_missing to build it from the "
                            "built-in corpora, or run `python -m training.data run` into it)")
    if kept.name != "kept":
        raise TrainingError(f"data.kept {kept}: the data pipeline writes a folder named 'kept'")

    from training.data.pipeline import run_pipeline
    from training.data.recipe import load_recipe
    from training.data.sources import builtin_documents, write_jsonl

    corpus = pipeline_out / "builtin-corpus.jsonl.gz"
    if not corpus.exists():
        echo(f"building training data from the built-in corpora: {build.wiki} Wikipedia summaries, {build.code} "
             f"standard-library files, {build.math} synthetic math texts -> {corpus}")
        write_jsonl(builtin_documents(wiki=build.wiki, code=build.code, math=build.math, seed=build.seed), corpus)
    echo(f"running the data pipeline ({', '.join(build.stages)}) -> {kept}")
    run_pipeline(load_recipe(_recipe_path(build.recipe)), corpus, pipeline_out, stages=list(build.stages),
                 echo=lambda line: echo(f"  {line}"))


def _recipe_path(recipe: str) -> Path:
    """A relative recipe path from the current folder, else from the repository (training/recipes/...)."""
    path = Path(recipe)
    repository = Path(__file__).resolve().parents[2]
    return path if path.is_absolute() or path.exists() else repository / path
