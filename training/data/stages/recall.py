"""Stage 2, reasoning-oriented recall (InfiR, after DeepSeekMath's iterative fastText recall, Shao et al. 2024).

Per domain (math, code) a fastText classifier separates seed positives from random documents of the pool; each round
the pool's high-confidence hits join the positives and the next round retrains, so the classifier drifts from the
seeds' style towards the pool's own math and code. The rounds run on the driver (`prepare`), each saved as
`work_folder/<domain>_round<k>.bin` (a rerun loads a round that exists instead of retraining it); the executor then
scores every document with the last round's models: `metadata["recall"] = {domain: p}` and `metadata["recalled"]`,
the domains whose p reaches the recipe's threshold.

Seeds: math = worked solutions from `training.data.synthetic_math` plus `math_seed_files`; code = chunks of the Python
standard library plus `code_seed_files`. Negatives are a random sample of the pool, so they hold some unlabelled
math and code: the classifier learns "seed-like versus typical", and a pool document drawn as a negative is scored by
a model that saw it labelled negative (a small share of a real pool; most of a toy one). The held-out precision and
recall per round in `work_folder/recall_report.json` are measured against those same noisy negatives.

The shared pieces of fastText training (`fasttext_line`, `train_fasttext`, `sample_pool`, ...) live here and the
quality stage reuses them.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from datatrove.pipeline.filters.base_filter import BaseFilter

from infir_edge.files import atomic_write_text
from training.data import documents
from training.data.errors import DataError
from training.data.executors import make_executor
from training.data.stages.base import StageContext

RECALL_DOMAINS = ("math", "code")
OTHER_LABEL = "other"
_PUNCTUATION = re.compile(r"([^\w\s])")


@dataclass
class RecallConfig:
    domains: tuple[str, ...] = RECALL_DOMAINS
    rounds: int = 4  # DeepSeekMath iterated 4 times and stopped: round 3 had already collected ~98% of the data
    seeds_per_domain: int = 2000  # built-in seed positives per domain (synthetic math, stdlib chunks)
    math_seed_files: tuple[str, ...] = ()  # .jsonl(.gz) in datatrove's format, or any text file as one document
    code_seed_files: tuple[str, ...] = ()
    promote_threshold: float = 0.9  # a pool document this sure joins the positives of the next round
    promote_per_round: int = 2000  # at most as many as the seeds: the pool's share grows, the seeds still anchor
    thresholds: dict[str, float] = field(default_factory=lambda: {"math": 0.5, "code": 0.5})  # fastText's argmax
    keep_domains: tuple[str, ...] = RECALL_DOMAINS  # documents the user tagged with these are never dropped
    drop_unrecalled: bool = False  # True: a document outside keep_domains recalled for no domain is removed
    pool_sample: int = 100_000  # documents of the pool the driver holds for negatives and promotion
    held_out_fraction: float = 0.1
    # fastText: DeepSeekMath used dim 256, wordNgrams 3 on 1M examples; dim 64 and bigrams keep a model ~26 MB
    # (bucket 100k instead of fastText's 2M, which makes a 256 MB file) and train in seconds on a laptop
    dim: int = 64
    word_ngrams: int = 2
    lr: float = 0.1  # DeepSeekMath
    epoch: int = 3  # DeepSeekMath
    min_count: int = 3  # DeepSeekMath
    bucket: int = 100_000
    seed: int = 0

    def __post_init__(self) -> None:
        unknown = set(self.domains) - set(RECALL_DOMAINS)
        if unknown:
            raise DataError(f"recall has seeds for {', '.join(RECALL_DOMAINS)} only, not {', '.join(sorted(unknown))}")
        missing = [domain for domain in self.domains if domain not in self.thresholds]
        if missing:
            raise DataError(f"recall thresholds has no value for {', '.join(missing)}")
        if self.rounds < 1:
            raise DataError(f"recall rounds must be at least 1, not {self.rounds}")


class RecallStage:
    name = "recall"

    def __init__(self, config: RecallConfig) -> None:
        self.config = config

    def model_path(self, context: StageContext, domain: str, round_number: int) -> Path:
        return Path(context.work_folder) / f"{domain}_round{round_number}.bin"

    def prepare(self, context: StageContext) -> None:
        config = self.config
        pool = sample_pool(context, config.pool_sample, config.seed)
        report = {domain: self._rounds(context, domain, pool) for domain in config.domains}
        write_json(Path(context.work_folder) / "recall_report.json", report)

    def _rounds(self, context: StageContext, domain: str, pool: list) -> list[dict]:
        config = self.config
        rng = random.Random(f"{config.seed}/{domain}")
        seeds = seed_texts(domain, config)
        rng.shuffle(seeds)
        candidates = [doc for doc in pool if doc.metadata.get("domain") != domain]
        if not seeds or not candidates:
            raise DataError(f"recall of {domain} needs seed positives and pool documents of another domain "
                            f"(has {len(seeds)} seeds, {len(candidates)} pool documents)")
        promoted: dict[str, str] = {}  # id -> text, in the order they were promoted
        rounds = []
        for round_number in range(1, config.rounds + 1):
            negatives_pool = [doc.text for doc in candidates if doc.id not in promoted]
            negatives = rng.sample(negatives_pool, min(len(negatives_pool), len(seeds) + len(promoted)))
            positives = [*promoted.values(), *seeds][: len(negatives)]  # balanced, as DeepSeekMath's 500k/500k
            train_pos, held_pos = split_held_out(positives, config.held_out_fraction, rng)
            train_neg, held_neg = split_held_out(negatives, config.held_out_fraction, rng)
            path = self.model_path(context, domain, round_number)
            if not path.exists():  # resumable: a finished round is loaded, not retrained
                train_fasttext(train_pos, train_neg, domain, path, **fasttext_settings(config))
            model = load_fasttext(path)
            summary = {"round": round_number, "model": path.name, "positives": len(positives),
                       "promoted_positives": min(len(promoted), len(positives)), "negatives": len(negatives),
                       "held_out": held_out_metrics(model, domain, held_pos, held_neg, config.thresholds[domain])}
            if round_number < config.rounds:
                hits = self._promote(model, domain, [doc for doc in candidates if doc.id not in promoted])
                promoted.update(hits)
                summary["promoted"] = len(hits)
            rounds.append(summary)
        return rounds

    def _promote(self, model, domain: str, candidates: list) -> dict[str, str]:
        scored = [(label_probability(model, domain, doc.text), doc.id, doc.text) for doc in candidates]
        confident = sorted((hit for hit in scored if hit[0] >= self.config.promote_threshold), reverse=True)
        return {doc_id: text for _, doc_id, text in confident[: self.config.promote_per_round]}

    def executors(self, context: StageContext) -> list:
        config = self.config
        models = {domain: str(self.model_path(context, domain, config.rounds)) for domain in config.domains}
        absent = [path for path in models.values() if not Path(path).exists()]
        if absent:
            raise DataError(f"recall's classifiers are not trained ({', '.join(absent)}): run prepare first")
        exclusion = documents.writer(f"{context.removed_folder}/recall_below_threshold") if config.drop_unrecalled \
            else None
        scorer = RecallScorer(models, dict(config.thresholds), keep_domains=tuple(config.keep_domains),
                              drop_unrecalled=config.drop_unrecalled, exclusion_writer=exclusion)
        pipeline = [documents.reader(context.input_folder, first=context.first, glob_pattern=context.input_glob),
                    scorer, documents.writer(context.output_folder)]
        return [make_executor(context.executor, pipeline, logging_dir=f"{context.logs_folder}/recall",
                              tasks=context.tasks)]


class RecallScorer(BaseFilter):
    """Scores every document with each domain's classifier; drops only when asked to (`drop_unrecalled`)."""

    name = "🎯 reasoning-oriented recall"

    def __init__(self, model_paths: dict[str, str], thresholds: dict[str, float], *, keep_domains: tuple[str, ...],
                 drop_unrecalled: bool = False, exclusion_writer=None) -> None:
        super().__init__(exclusion_writer)
        self.model_paths = model_paths
        self.thresholds = thresholds
        self.keep_domains = keep_domains
        self.drop_unrecalled = drop_unrecalled
        self._models: dict = {}  # loaded on first use in the worker: fastText models do not pickle

    def filter(self, doc) -> bool | tuple[bool, str]:
        if not self._models:
            self._models = {domain: load_fasttext(path) for domain, path in self.model_paths.items()}
        line = fasttext_line(doc.text)
        scores = {domain: label_probability(model, domain, line, prepared=True) for domain, model in
                  self._models.items()}
        recalled = [domain for domain, score in scores.items() if score >= self.thresholds[domain]]
        doc.metadata["recall"] = {domain: round(score, 4) for domain, score in scores.items()}
        doc.metadata["recalled"] = recalled
        for domain in recalled:
            self.stat_update(f"recalled_{domain}")
        if self.drop_unrecalled and not recalled and doc.metadata.get("domain") not in self.keep_domains:
            return False, "recall_below_threshold"
        return True


# ---- seeds ------------------------------------------------------------------------------------------------------
def seed_texts(domain: str, config: RecallConfig) -> list[str]:
    """The built-in seed positives of `domain` followed by the user's seed files."""
    if domain == "math":
        from training.data.synthetic_math import math_texts

        return [*math_texts(config.seeds_per_domain, seed=config.seed), *read_texts(config.math_seed_files)]
    return [*stdlib_chunks(config.seeds_per_domain, seed=config.seed), *read_texts(config.code_seed_files)]


def stdlib_chunks(count: int, *, seed: int = 0, max_chars: int = 2000) -> list[str]:
    """`count` pieces of the standard library's source, whole lines up to `max_chars` each, from random modules."""
    from infir_edge.corpora import stdlib_source_files

    files = stdlib_source_files()
    random.Random(seed).shuffle(files)
    chunks: list[str] = []
    for path in files:
        chunk: list[str] = []
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True):
            if chunk and sum(map(len, chunk)) + len(line) > max_chars:
                chunks.append("".join(chunk))
                chunk = []
            chunk.append(line)
        if chunk and "".join(chunk).strip():
            chunks.append("".join(chunk))
        if len(chunks) >= count:
            break
    return chunks[:count]


def read_texts(paths) -> list[str]:
    """Texts of seed files: each line's `text` of a .jsonl(.gz) in datatrove's format, else the file as one text."""
    texts = []
    for name in paths:
        path = Path(name)
        if not path.is_file():
            raise DataError(f"seed file {name} does not exist")
        if path.name.endswith((".jsonl", ".jsonl.gz")):
            opener = gzip.open if path.suffix == ".gz" else open
            with opener(path, "rt", encoding="utf-8") as f:
                texts += [json.loads(line).get("text", "") for line in f if line.strip()]
        else:
            texts.append(path.read_text(encoding="utf-8", errors="replace"))
    return [text for text in texts if text.strip()]


def sample_pool(context: StageContext, limit: int, seed: int) -> list:
    """A uniform sample (reservoir) of at most `limit` documents of the stage's input, read on the driver."""
    rng = random.Random(seed)
    sample: list = []
    source = documents.reader(context.input_folder, first=context.first, glob_pattern=context.input_glob)
    try:
        for seen, doc in enumerate(source.run()):
            if seen < limit:
                sample.append(doc)
            elif (slot := rng.randrange(seen + 1)) < limit:
                sample[slot] = doc
    except RuntimeError as e:  # datatrove: "No files found"
        raise DataError(f"no input documents in {context.input_folder}: {e}") from None
    if not sample:
        raise DataError(f"no input documents in {context.input_folder}")
    return sample


# ---- fastText ---------------------------------------------------------------------------------------------------
def fasttext_line(text: str, max_chars: int = 20_000) -> str:
    """fastText's view of a text: one line, lower case, punctuation split off words (so `x^2+1=5` makes tokens)."""
    return " ".join(_PUNCTUATION.sub(r" \1 ", text[:max_chars].lower()).split())


def fasttext_settings(config) -> dict:
    return {"dim": config.dim, "word_ngrams": config.word_ngrams, "lr": config.lr, "epoch": config.epoch,
            "min_count": config.min_count, "bucket": config.bucket, "seed": config.seed}


def train_fasttext(positives: list[str], negatives: list[str], label: str, path: Path, *, dim: int,
                   word_ngrams: int, lr: float, epoch: int, min_count: int, bucket: int, seed: int) -> None:
    """Train `label` against OTHER_LABEL and save to `path` atomically (a killed run leaves no half model)."""
    import subprocess
    import sys

    path.parent.mkdir(parents=True, exist_ok=True)
    examples = [f"__label__{label} {fasttext_line(text)}" for text in positives]
    examples += [f"__label__{OTHER_LABEL} {fasttext_line(text)}" for text in negatives]
    random.Random(seed).shuffle(examples)  # fastText streams the file: interleave the labels
    training_file = path.with_name(f"{path.name}.train.txt")
    training_file.write_text("\n".join(examples) + "\n", encoding="utf-8")
    partial = path.with_name(f"{path.name}.partial")
    settings = {"input": str(training_file), "dim": dim, "wordNgrams": word_ngrams, "lr": lr, "epoch": epoch,
                "minCount": min_count, "bucket": bucket, "loss": "softmax", "thread": 1, "seed": seed, "verbose": 0}
    # A fresh interpreter per model: with thread=1 fastText 0.9.2 randomly initializes only the first tenth of its
    # input matrix (DenseMatrix::uniformThread's blocks) and trains the rest from whatever malloc returns. In a
    # process that allocated before, that is reused heap (measured: different models from the same examples, and
    # NaN); a fresh process gets zeroed pages from the OS, so the same examples give the same model every time.
    done = subprocess.run([sys.executable, "-c", _TRAIN_AND_SAVE, json.dumps(settings), str(partial)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        detail = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit status {done.returncode}"
        raise DataError(f"fastText could not train {path.name} on {len(examples)} examples ({detail}): "
                        "lower lr, or add documents")
    os.replace(partial, path)
    training_file.unlink()


_TRAIN_AND_SAVE = ("import fasttext, json, sys; "
                   "fasttext.train_supervised(**json.loads(sys.argv[1])).save_model(sys.argv[2])")


def load_fasttext(path):
    import fasttext

    return fasttext.load_model(str(path))


def label_probability(model, label: str, text: str, *, prepared: bool = False) -> float:
    labels, probabilities = model.predict(text if prepared else fasttext_line(text), k=-1)
    return float(dict(zip(labels, probabilities, strict=True)).get(f"__label__{label}", 0.0))


def split_held_out(texts: list[str], fraction: float, rng: random.Random) -> tuple[list[str], list[str]]:
    """(training, held out); the held-out share is left out of training to measure the classifier."""
    shuffled = texts[:]
    rng.shuffle(shuffled)
    held = int(len(shuffled) * fraction)
    return shuffled[held:], shuffled[:held]


def held_out_metrics(model, label: str, positives: list[str], negatives: list[str], threshold: float) -> dict:
    """Precision and recall of "score >= threshold" on examples the model did not train on."""
    hits_pos = sum(label_probability(model, label, text) >= threshold for text in positives)
    hits_neg = sum(label_probability(model, label, text) >= threshold for text in negatives)
    return {"threshold": threshold, "positives": len(positives), "negatives": len(negatives),
            "precision": round(hits_pos / (hits_pos + hits_neg), 4) if hits_pos + hits_neg else None,
            "recall": round(hits_pos / len(positives), 4) if positives else None}


def write_json(path: Path, data) -> None:
    atomic_write_text(path, json.dumps(data, indent=2) + "\n")
