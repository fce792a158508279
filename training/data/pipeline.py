"""Running the stages over a corpus: the output layout, resuming, and the run's record.

    DIR/kept/                      the last stage's survivors (`${rank}.jsonl.gz`, input ids kept)
    DIR/removed/<stage>/<rule>/    every removed document, `metadata.filter_reason` set
    DIR/work/00-input/             the input as JSONL: links to the user's files, or `tasks` shards of them
    DIR/work/<NN>-<stage>/         docs/: a stage's survivors, read by the next; scratch/: its indexes and models;
                                   done.json: the stage finished (its survivor counts)
    DIR/logs/<stage>/<executor>/   datatrove's completions and per-task stats
    DIR/run.json, stats.json, report.md, timings.json

Stages run one after another (each one's `prepare` may need the previous one's output); on Slurm the driver
submits a stage, waits for its completion markers, then prepares the next. Resuming needs nothing but the same
command: every executor has a fixed logging_dir, so datatrove skips the tasks whose completion marker exists, and
every output file is named by its task, so a rerun task overwrites its own partial files. `run.json` pins what must
not change between attempts (input, stages, their configs, tasks).
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
import shutil
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from infir_edge.files import atomic_write_text
from training.data.errors import DataError
from training.data.recipe import STAGES, DataRecipe, stage_classes
from training.data.stages.base import StageContext

INPUT_SUFFIXES = (".jsonl", ".jsonl.gz", ".parquet")
OUTPUTS = ("kept", "removed", "work", "logs", "run.json", "stats.json", "report.md", "timings.json")


def input_files(path: Path) -> list[Path]:
    """The .jsonl, .jsonl.gz and .parquet files of `path` (a file or a folder, searched recursively)."""
    if not path.exists():
        raise DataError(f"input {path} does not exist")
    if path.is_file():
        if not path.name.endswith(INPUT_SUFFIXES):
            raise DataError(f"input {path} is not a {', '.join(INPUT_SUFFIXES)} file")
        return [path]
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(INPUT_SUFFIXES))
    if not files:
        raise DataError(f"input folder {path} holds no {', '.join(INPUT_SUFFIXES)} files")
    return files


def first_record(files: list[Path]) -> dict | None:
    """The first line that is a JSON object (or the first Parquet row) of the input; None when there is none."""
    for file in files:
        if file.name.endswith(".parquet"):
            import pyarrow.parquet as pq

            parquet = pq.ParquetFile(file)
            if parquet.metadata.num_rows:
                return next(parquet.iter_batches(batch_size=1)).to_pylist()[0]
            continue
        try:
            with (gzip.open if file.name.endswith(".gz") else open)(file, "rb") as f:
                for line in f:
                    try:
                        record = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(record, dict):
                        return record
        except (OSError, EOFError):  # a damaged gzip: the reader counts it, it does not make the input empty
            continue
    return None


def stage_input(files: list[Path], root: Path, staged: Path, tasks: int) -> None:
    """Give the readers one format, split `tasks` ways. datatrove shares out whole files, so fewer files than tasks
    would leave tasks idle: then the input's lines are dealt round-robin into `tasks` shards (raw, so the reader
    still counts malformed lines; a document without an id gets one from its shard). Otherwise JSONL files are
    linked and Parquet converted. `<staged>.json` marks a finished staging; an unfinished one is redone."""
    done = staged.with_name(staged.name + ".json")
    if done.exists():
        return
    shutil.rmtree(staged, ignore_errors=True)
    staged.mkdir(parents=True)
    truncated = 0
    if len(files) < tasks:
        with ExitStack() as stack:
            shards = [stack.enter_context(gzip.open(staged / f"shard-{i:05d}.jsonl.gz", "wb")) for i in range(tasks)]
            index = 0
            for file in files:
                lines, complete = _raw_lines(file)
                for line in lines:
                    shards[index % tasks].write(line if line.endswith(b"\n") else line + b"\n")
                    index += 1
                truncated += not complete()
    else:
        for file in files:
            target = staged / (file.relative_to(root) if root.is_dir() else Path(file.name))
            target.parent.mkdir(parents=True, exist_ok=True)
            if file.name.endswith(".parquet"):
                _write_gzip(target.with_name(target.name + ".jsonl.gz"), _parquet_lines(file))
            else:
                target.symlink_to(file.resolve())
    atomic_write_text(done, json.dumps({"files": len(files), "resharded": len(files) < tasks,
                                       "truncated_files": truncated}))


def _raw_lines(file: Path):
    """(the file's lines as bytes, a function saying whether the file read to its end: a truncated gzip does not)."""
    if file.name.endswith(".parquet"):
        return _parquet_lines(file), lambda: True
    state = {"complete": True}

    def lines():
        with (gzip.open if file.name.endswith(".gz") else open)(file, "rb") as f:
            try:
                yield from f
            except (EOFError, OSError):
                state["complete"] = False

    return lines(), lambda: state["complete"]


def _parquet_lines(file: Path):
    import orjson
    import pyarrow.parquet as pq

    for batch in pq.ParquetFile(file).iter_batches(batch_size=1000):
        for row in batch.to_pylist():
            yield orjson.dumps(row, default=str) + b"\n"


def _write_gzip(target: Path, lines) -> None:
    with gzip.open(target, "wb") as out:
        out.writelines(lines)


def stage_contexts(recipe: DataRecipe, stages: list[str], out: Path, input_folder: str) -> list[StageContext]:
    contexts, source = [], input_folder
    for number, name in enumerate(stages, start=1):
        work = out / "work" / f"{number:02d}-{name}"
        last = number == len(stages)
        output = str(out / "kept") if last else str(work / "docs")
        contexts.append(StageContext(input_folder=source, input_glob=None, first=number == 1, output_folder=output,
                                     removed_folder=str(out / "removed" / name), work_folder=str(work / "scratch"),
                                     logs_folder=str(out / "logs" / name), tasks=recipe.tasks,
                                     executor=recipe.executor))
        source = output
    return contexts


def build_stages(recipe: DataRecipe, stages: list[str], out: Path) -> list[tuple[object, StageContext]]:
    """(stage, context) per stage, in order; the first stage reads the staged input."""
    contexts = stage_contexts(recipe, stages, out, str(out / "work" / "00-input"))
    built = []
    for name, context in zip(stages, contexts, strict=True):
        stage_class, _ = stage_classes(name)
        built.append((stage_class(recipe.stage_config(name)), context))
    return built


def wait_until_complete(executors: list, echo: Callable[[str], None], poll_s: float = 60.0) -> None:
    """Slurm's `.run()` only submits: the next stage's `prepare` needs this one's output, so the driver waits for
    the completion markers (local and Ray executors return when done, and this returns at once)."""
    announced = False
    while remaining := sum(len(e.get_incomplete_ranks()) for e in executors):
        if not announced:
            echo(f"    waiting for {remaining} submitted tasks (Ctrl-C is safe: rerun the command to resume)")
            announced = True
        time.sleep(poll_s)


def run_pipeline(recipe: DataRecipe, input_path: str | Path, out: str | Path, *, stages: list[str] | None = None,
                 overwrite: bool = False, echo: Callable[[str], None] = print) -> dict:
    """Run `stages` (default: the recipe's) over the input into `out`, stage after stage, on the recipe's
    executor; resumes a run that stopped. Returns the run's stats (also in `out/stats.json`)."""
    from training.data import report

    input_path, out = Path(input_path).resolve(), Path(out).resolve()
    stages = list(stages or recipe.stages)
    unknown = [name for name in stages if name not in STAGES]
    if unknown or not stages or len(set(stages)) < len(stages):
        raise DataError(f"stages {stages}: unknown stage {unknown[0]!r}" if unknown else
                        f"stages {stages}: name each stage once, from {', '.join(STAGES)}")
    check_executor_available(recipe.executor.kind)
    files = input_files(input_path)
    sample = first_record(files)
    if sample is None:
        raise DataError(f"input {input_path} is empty: no JSON object on any line")
    identity = {"input": str(input_path), "stages": stages, "tasks": recipe.tasks,
                "configs": {name: dataclasses.asdict(recipe.stage_config(name)) for name in stages}}
    if overwrite:
        for name in OUTPUTS:
            target = out / name
            shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    with RunLock(out):
        _pin_identity(out / "run.json", identity)
        stage_input(files, input_path, out / "work" / "00-input", recipe.tasks)
        built = build_stages(recipe, stages, out)
        workers = recipe.executor.workers
        timings = _load_json(out / "timings.json")
        left = None  # documents the previous stage kept (None: the input, known to hold some)
        for number, (stage, context) in enumerate(built, start=1):
            prefix = f"[{number}/{len(built)}] {stage.name}"
            done = Path(context.work_folder).parent / "done.json"
            if done.exists():
                left = json.loads(done.read_text())["documents"]
                echo(f"{prefix}: already done, skipped")
                continue
            if left == 0:  # datatrove's readers fail on a folder without files: nothing to do is done
                done.parent.mkdir(parents=True, exist_ok=True)
                atomic_write_text(done, json.dumps({"documents": 0, "characters": 0}))
                echo(f"{prefix}: no documents left, skipped")
                continue
            started = time.perf_counter()
            stage.prepare(context)  # resumable by contract: skips what a previous attempt finished
            executors = stage.executors(context)
            executors[-1].run()  # datatrove skips the tasks that have a completion marker
            wait_until_complete(executors, echo)
            elapsed = time.perf_counter() - started
            entry = timings.setdefault(stage.name, {"wall_s": 0.0, "workers": workers})
            entry["wall_s"] += elapsed
            entry["workers"] = workers
            atomic_write_text(out / "timings.json", json.dumps(timings, indent=1))
            counts = report.count_documents(context.output_folder)
            done.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(done, json.dumps(counts))
            left = counts["documents"]
            echo(f"{prefix}: {counts['documents']:,} documents kept in {elapsed:.1f} s ({workers} workers)")
        planted = _planted(sample, input_path, out)
        stats = report.collect_stats(out, built, timings, planted=planted)
        (out / "stats.json").write_text(json.dumps(stats, indent=1))
        (out / "report.md").write_text(report.render(stats))
        echo(f"kept {stats['kept']['documents']:,} of {stats['input']['documents']:,} documents -> {out / 'kept'}; "
             f"report: {out / 'report.md'}")
        return stats


def check_executor_available(kind: str) -> None:
    import importlib.util

    if kind == "slurm" and shutil.which("sbatch") is None:
        raise DataError("--executor slurm needs sbatch: run the command on a Slurm login node")
    if kind == "ray" and importlib.util.find_spec("ray") is None:
        raise DataError("--executor ray needs ray: pip install 'ray[default]' and start or join a cluster")


def _planted(sample: dict, input_path: Path, out: Path) -> dict | None:
    """The planted-label rates when the input is one file whose documents carry `metadata.planted` (a corpus from
    `python -m training.data corpus`)."""
    if input_path.is_dir() or ("planted" not in (sample.get("metadata") or {}) and "planted" not in sample):
        return None
    from training.data.corpus import planted_rates

    return planted_rates(input_path, out)


def _pin_identity(path: Path, identity: dict) -> None:
    identity = json.loads(json.dumps(identity))  # tuples -> lists, as they read back
    if path.exists():
        previous = json.loads(path.read_text())
        changed = sorted(key for key in identity if previous.get(key) != identity[key])
        if changed:
            raise DataError(f"{path.parent} holds a run with other {', '.join(changed)}: rerun with the same "
                            "input, stages, recipe and tasks to resume, or pass --overwrite to start over")
        return
    atomic_write_text(path, json.dumps(identity, indent=1))


def _load_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


class RunLock:
    """`DIR/run.lock` holds the running driver's pid: a second run into the same folder while the first (or its
    orphaned workers' parent) lives would write the same files twice."""

    def __init__(self, out: Path) -> None:
        self.path = out / "run.lock"

    def __enter__(self) -> RunLock:
        if self.path.exists():
            pid = int(self.path.read_text().strip() or 0)
            if pid and pid != os.getpid() and _alive(pid):
                raise DataError(f"another run (pid {pid}) is writing into {self.path.parent}")
        self.path.write_text(str(os.getpid()))
        return self

    def __exit__(self, *exc) -> None:
        self.path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
