"""One factory for datatrove's executors, so every stage runs locally, on Slurm or on Ray unchanged."""

from __future__ import annotations

from dataclasses import dataclass, field

EXECUTORS = ("local", "slurm", "ray")


@dataclass(frozen=True)
class ExecutorSettings:
    kind: str = "local"  # local | slurm | ray
    workers: int = 2  # tasks running at once (local: processes; slurm/ray: concurrent jobs, -1 = no limit)
    slurm: dict = field(default_factory=dict)  # SlurmPipelineExecutor's own arguments: partition, time, venv_path...
    ray: dict = field(default_factory=dict)  # RayPipelineExecutor's own arguments: cpus_per_task, mem_per_cpu_gb...


def make_executor(settings: ExecutorSettings, pipeline: list, *, logging_dir: str, tasks: int, depends=None,
                  workers: int | None = None):
    """An executor over `pipeline` with a fixed `logging_dir` (its `completions/` make a rerun skip what is done)."""
    from datatrove.executor import LocalPipelineExecutor, RayPipelineExecutor, SlurmPipelineExecutor

    workers = settings.workers if workers is None else workers
    common = {"pipeline": pipeline, "tasks": tasks, "logging_dir": logging_dir, "depends": depends,
              "skip_completed": True}
    if settings.kind == "local":
        return LocalPipelineExecutor(**common, workers=min(workers, tasks) if workers > 0 else workers)
    if settings.kind == "slurm":
        options = {"time": "24:00:00", "partition": "cpu", "job_name": "infir-data", **settings.slurm}
        return SlurmPipelineExecutor(**common, workers=workers, **options)
    if settings.kind == "ray":
        return RayPipelineExecutor(**common, workers=workers, **settings.ray)
    raise ValueError(f"unknown executor {settings.kind!r}: one of {', '.join(EXECUTORS)}")
