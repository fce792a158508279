"""Stage 5, "decontam": drop every document that shares an n-gram with an evaluation item (n = 10, InfiR §2.1).

The evaluation sets are indexed on the driver (`prepare`) into datatrove's `<task>.index.hashes` format, so
datatrove's `NGramsDecontFilter` does the matching; its own indexer needs lighteval, which is not a dependency.
Both sides normalize the text the same way (lowercase, no punctuation, numbers -> 0 by default) and hash word
n-grams with sha1. An evaluation item shorter than n words can never match; `prepare` counts them in the index's
`manifest.json`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from training.data import documents
from training.data.errors import DataError
from training.data.stages.base import StageContext

BUILTIN_EVALS = ("humaneval", "arithmetic")


@dataclass
class DecontamConfig:
    n_grams: int = 10  # InfiR §2.1 (GPT-3 used 13; shorter catches paraphrased math items)
    # Numbers -> "0" (datatrove's default): a problem restated with other numbers is still the item.
    norm_numbers: bool = True
    builtin_evals: list[str] = field(default_factory=lambda: list(BUILTIN_EVALS))
    # More evaluation sets: JSONL with question/answer, prompt/canonical_solution or text per line; anything else is
    # read as plain text. The task name is the file name up to its first dot.
    eval_files: list[str] = field(default_factory=list)


def eval_items(config: DecontamConfig) -> list[tuple[str, str]]:
    """(task, text) for every evaluation item: the builtin sets first, then the given files in order."""
    unknown = sorted(set(config.builtin_evals) - set(BUILTIN_EVALS))
    if unknown:
        raise DataError(f"decontam: unknown builtin_evals {unknown}: choose from {list(BUILTIN_EVALS)}")
    items: list[tuple[str, str]] = []
    if "humaneval" in config.builtin_evals:
        from infir_edge.corpora import humaneval_problems

        items += [("humaneval", p["prompt"] + p["canonical_solution"]) for p in humaneval_problems()]
    paths = [Path(p) for p in config.eval_files]
    if "arithmetic" in config.builtin_evals:
        from training.eval.arithmetic import eval_set_files

        paths = [*eval_set_files(), *paths]
    for path in paths:
        if not path.is_file():
            raise DataError(f"decontam: evaluation file {path} does not exist")
        items += [(path.name.split(".")[0], text) for text in read_eval_file(path)]
    return items


def read_eval_file(path: Path) -> list[str]:
    import gzip

    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        content = f.read()
    texts = []
    for line in content.splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            return [content]  # plain text: one item, the whole file
        if not isinstance(record, dict):
            return [content]
        # question + answer in one item: n-grams inside each and across the boundary (a copied solution follows
        # its question)
        fields = [record.get(k) for k in ("question", "answer", "prompt", "canonical_solution", "text")]
        texts.append("\n".join(str(f) for f in fields if f))
    return texts


class DecontamStage:
    name = "decontam"

    def __init__(self, config: DecontamConfig) -> None:
        if config.n_grams < 1:
            raise DataError(f"decontam: n_grams must be positive, not {config.n_grams}")
        self.config = config

    def ngram_config(self):
        from datatrove.pipeline.decont import NGramsDecontConfig
        from datatrove.utils.hashing import HashConfig
        from datatrove.utils.text import TextNormConfig

        return NGramsDecontConfig(n_grams=self.config.n_grams,
                                  norm_config=TextNormConfig(norm_numbers=self.config.norm_numbers),
                                  hash_config=HashConfig(precision=64, hash_fc="sha1"))

    def index_folder(self, context: StageContext) -> Path:
        return Path(context.work_folder) / "index"

    def prepare(self, context: StageContext) -> None:
        """Write `<task>.index.hashes` per evaluation task, then `manifest.json` (its presence = done)."""
        import numpy as np
        from datatrove.utils.hashing import create_hash_func
        from datatrove.utils.text import ngrams, simplify_text
        from datatrove.utils.word_tokenizers import load_word_tokenizer

        folder = self.index_folder(context)
        if (folder / "manifest.json").exists():
            return
        config = self.ngram_config()
        tokenizer, hash_ngram = load_word_tokenizer("eng"), create_hash_func(config.hash_config)
        hashes: dict[str, set[int]] = {}
        items_per_task: dict[str, int] = {}
        too_short: dict[str, int] = {}
        for task, text in eval_items(self.config):
            words = tokenizer.word_tokenize(simplify_text(text, config.norm_config))
            grams = {hash_ngram(" ".join(gram)) for gram in ngrams(words, config.n_grams)}
            hashes.setdefault(task, set()).update(grams)
            items_per_task[task] = items_per_task.get(task, 0) + 1
            too_short[task] = too_short.get(task, 0) + (not grams)
        if not hashes:
            raise DataError("decontam: no evaluation items (builtin_evals and eval_files are empty)")
        folder.mkdir(parents=True, exist_ok=True)
        for task, task_hashes in hashes.items():
            data = np.array(sorted(task_hashes), dtype=config.hash_config.np_descr).tobytes()
            (folder / f"{task}.index.hashes").write_bytes(data)
        manifest = {"n_grams": self.config.n_grams, "items": items_per_task, "shorter_than_n": too_short,
                    "ngrams": {task: len(h) for task, h in hashes.items()}}
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=1))

    def executors(self, context: StageContext) -> list:
        from datatrove.pipeline.decont import NGramsDecontFilter

        from training.data.executors import make_executor

        contaminated = NGramsDecontFilter(str(self.index_folder(context)), config=self.ngram_config(),
                                          exclusion_writer=documents.writer(f"{context.removed_folder}/contaminated"))
        pipeline = [documents.reader(context.input_folder, first=context.first, glob_pattern=context.input_glob),
                    contaminated, documents.writer(context.output_folder)]
        return [make_executor(context.executor, pipeline, logging_dir=f"{context.logs_folder}/decontam",
                              tasks=context.tasks)]
