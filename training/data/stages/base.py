"""What a stage is: driver-side preparation (train a classifier, index evaluation sets) that is resumable, then a
chain of datatrove executors reading `input_folder` and writing survivors to `output_folder` and every removed
document, with `metadata["filter_reason"]`, under `removed_folder`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from training.data.executors import ExecutorSettings


@dataclass(frozen=True)
class StageContext:
    input_folder: str  # JSONL(.gz) in datatrove's format: the previous stage's survivors, or the user's input
    input_glob: str | None  # for the user's input: which files (None = all)
    first: bool  # input is the user's raw files (read with the counting reader, domains guessed)
    output_folder: str  # survivors, `${rank}.jsonl.gz`
    removed_folder: str  # DIR/removed/<stage>/...
    work_folder: str  # scratch: signatures, indexes, trained models
    logs_folder: str  # DIR/logs/<stage>: one sub-folder per executor, for completions and stats
    tasks: int  # datatrove tasks per executor that reads documents
    executor: ExecutorSettings


class Stage(Protocol):
    name: str

    def prepare(self, context: StageContext) -> None:
        """Driver-side work before the executors (skips what a previous run already finished)."""

    def executors(self, context: StageContext) -> list:
        """The stage's executors, each depending on the one before; running the last runs them all."""
