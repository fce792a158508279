"""Stage 4, quality assessment: model-based scores in `metadata["quality"]` and a threshold per signal.

Three signals, cheapest first, each a step that only annotates when its threshold is None:
- `code` (domain "code", Python only): static checks of `training.data.code_checks`, a score in [0, 1] and the
  failed checks. Unparseable source goes (`quality_code_unparseable`), and so does source below `min_code_score`.
- `edu`: a reference-text classifier, the GPT-3 / LLaMA recipe (Brown et al. 2020; Touvron et al. 2023): fastText
  trained with curated reference text as positives (Wikipedia summaries from `infir_edge.corpora`, and the standard
  library's docstrings and comment blocks, so that explained code counts as reference too) against random documents
  of the pool as negatives. Its known bias: it scores *likeness to the references*, not educational value: it
  favours the encyclopedic register, topics and length of Wikipedia summaries, and penalises dialogue, other
  registers and dialects, worked math and bare code; so it thresholds the web domain only (`edu_domains`) and its
  default cut is lenient. A pool document drawn as a negative is scored by a model that saw it labelled negative
  (negligible in a real pool, most of a toy one).
- `perplexity`: the SDK's embedded model (SmolLM2-135M by default) over each document's first `max_tokens` tokens,
  CCNet's signal (Wenzek et al. 2020): very high perplexity marks garbage. Measured with SmolLM2-135M at 256 tokens:
  Wikipedia summaries 12-17, German prose 41, standard-library code 6-11, synthetic math 5-12, keyword spam 59,
  shuffled stop words 159, random characters ~250; the default cut of 150 drops the last two with a 3.5x margin over
  the natural text (keyword spam is the edu classifier's to catch). The SDK evaluates one token at a time, so on a
  shared laptop core the default model scores ~40 tokens/s, i.e. ~0.2 documents/s at 256 tokens: this step
  dominates the stage's time (`max_tokens` trades precision for speed; `perplexity_model: None` turns it off).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from datatrove.pipeline.filters.base_filter import BaseFilter

from training.data import documents
from training.data.code_checks import CodeCheckConfig, check_python
from training.data.errors import DataError
from training.data.executors import make_executor
from training.data.stages.base import StageContext
from training.data.stages.recall import (
    fasttext_line,
    fasttext_settings,
    held_out_metrics,
    label_probability,
    load_fasttext,
    sample_pool,
    split_held_out,
    train_fasttext,
    write_json,
)

EDU_LABEL = "edu"
PYTHON_NAMES = frozenset({"python", "python3", "py"})


@dataclass
class QualityConfig:
    # edu: GPT-3 / LLaMA's reference classifier
    edu_threshold: float | None = 0.2  # LLaMA kept p >= 0.5 with pages Wikipedia cites as positives; Wikipedia's own
    #  summaries are a narrower class, so 0.2 drops only what is confidently unlike reference text
    edu_domains: tuple[str, ...] = ("web",)  # thresholded here; every document gets the score
    wiki_positives: int = 1500
    docstring_positives: int = 500
    pool_sample: int = 100_000  # documents of the pool the driver holds to draw negatives from
    held_out_fraction: float = 0.1
    # fastText as the recall stage's (GPT-3 and LLaMA do not publish theirs)
    dim: int = 64
    word_ngrams: int = 2
    lr: float = 0.1
    epoch: int = 3
    min_count: int = 3
    bucket: int = 100_000
    # perplexity: CCNet's signal with the SDK's model
    perplexity_model: str | None = "default"  # None: no perplexity
    # the SDK backend that scores (None: the model's own). The SDK's llama.cpp backend scores one token at a time
    # (~50 tok/s a core on the 135M); "torch" scores a whole window in one forward (~330 tok/s a core, measured)
    # after a ~25 s conversion per task
    perplexity_backend: str | None = None
    max_tokens: int = 256
    max_perplexity: float | None = 150.0  # measured under SmolLM2-135M: see the module docstring
    threads: int = 1  # per worker process: datatrove runs one task per core
    # code: static checks (thresholds in CodeCheckConfig)
    min_code_score: float | None = 0.6  # three or more of six checks failed; every stdlib module passes (measured)
    drop_unparseable: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        if self.max_tokens < 2:
            raise DataError(f"quality max_tokens must be at least 2, not {self.max_tokens}")
        if self.wiki_positives + self.docstring_positives < 1:
            raise DataError("quality's edu classifier needs reference texts: wiki_positives or docstring_positives")


class QualityStage:
    name = "quality"

    def __init__(self, config: QualityConfig) -> None:
        self.config = config

    def edu_model_path(self, context: StageContext) -> Path:
        return Path(context.work_folder) / "edu.bin"

    def prepare(self, context: StageContext) -> None:
        config = self.config
        path = self.edu_model_path(context)
        rng = random.Random(f"{config.seed}/edu")
        pool = sample_pool(context, config.pool_sample, config.seed)
        positives = reference_texts(config.wiki_positives, config.docstring_positives, seed=config.seed)
        rng.shuffle(positives)
        negatives = rng.sample([doc.text for doc in pool], min(len(pool), len(positives)))
        positives = positives[: len(negatives)]  # balanced classes
        train_pos, held_pos = split_held_out(positives, config.held_out_fraction, rng)
        train_neg, held_neg = split_held_out(negatives, config.held_out_fraction, rng)
        if not path.exists():  # resumable: a trained classifier is kept
            train_fasttext(train_pos, train_neg, EDU_LABEL, path, **fasttext_settings(config))
        threshold = config.edu_threshold if config.edu_threshold is not None else 0.5
        report = {"edu": {"model": path.name, "positives": len(positives), "negatives": len(negatives),
                          "held_out": held_out_metrics(load_fasttext(path), EDU_LABEL, held_pos, held_neg, threshold)}}
        write_json(Path(context.work_folder) / "quality_report.json", report)

    def executors(self, context: StageContext) -> list:
        config = self.config
        edu_model = self.edu_model_path(context)
        if not edu_model.exists():
            raise DataError(f"quality's classifier is not trained ({edu_model}): run prepare first")
        removed = context.removed_folder
        steps = [
            documents.reader(context.input_folder, first=context.first, glob_pattern=context.input_glob),
            CodeQualityFilter(CodeCheckConfig(), min_score=config.min_code_score,
                              drop_unparseable=config.drop_unparseable,
                              exclusion_writer=documents.writer(f"{removed}/code")),
            EduQualityFilter(str(edu_model), threshold=config.edu_threshold, domains=tuple(config.edu_domains),
                             exclusion_writer=documents.writer(f"{removed}/edu")),
        ]
        if config.perplexity_model is not None:
            steps.append(PerplexityFilter(config.perplexity_model, max_tokens=config.max_tokens,
                                          max_perplexity=config.max_perplexity, threads=config.threads,
                                          backend=config.perplexity_backend,
                                          exclusion_writer=documents.writer(f"{removed}/perplexity")))
        steps.append(documents.writer(context.output_folder))
        return [make_executor(context.executor, steps, logging_dir=f"{context.logs_folder}/quality",
                              tasks=context.tasks)]


def quality_metadata(doc) -> dict:
    return doc.metadata.setdefault("quality", {})


class CodeQualityFilter(BaseFilter):
    """Static checks of Python documents of the code domain (others pass untouched)."""

    name = "🐍 code static checks"

    def __init__(self, checks: CodeCheckConfig, *, min_score: float | None, drop_unparseable: bool = True,
                 exclusion_writer=None) -> None:
        super().__init__(exclusion_writer)
        self.checks = checks
        self.min_score = min_score
        self.drop_unparseable = drop_unparseable

    def filter(self, doc) -> bool | tuple[bool, str]:
        if doc.metadata.get("domain") != "code":
            return True
        if str(doc.metadata.get("language") or "python").lower() not in PYTHON_NAMES:
            self.stat_update("code_not_python")
            return True
        report = check_python(doc.text, self.checks)
        quality_metadata(doc)["code"] = report.as_dict()
        for check in report.failed:
            self.stat_update(f"code_failed_{check}")
        if self.drop_unparseable and "unparseable" in report.failed:
            return False, "quality_code_unparseable"
        if self.min_score is not None and report.score < self.min_score:
            return False, f"quality_code_below_{self.min_score:g}"
        return True


class EduQualityFilter(BaseFilter):
    """The reference-text classifier's probability; drops documents of `domains` below `threshold`."""

    name = "📚 edu classifier"

    def __init__(self, model_path: str, *, threshold: float | None, domains: tuple[str, ...],
                 exclusion_writer=None) -> None:
        super().__init__(exclusion_writer)
        self.model_path = model_path
        self.threshold = threshold
        self.domains = domains
        self._model = None  # loaded on first use in the worker: fastText models do not pickle

    def filter(self, doc) -> bool | tuple[bool, str]:
        if self._model is None:
            self._model = load_fasttext(self.model_path)
        score = label_probability(self._model, EDU_LABEL, fasttext_line(doc.text), prepared=True)
        quality_metadata(doc)["edu"] = round(score, 4)
        if self.threshold is not None and doc.metadata.get("domain") in self.domains and score < self.threshold:
            return False, f"quality_edu_below_{self.threshold:g}"
        return True


class PerplexityFilter(BaseFilter):
    """Perplexity of the first `max_tokens` tokens under a language model loaded through the SDK."""

    name = "🤏 perplexity"

    def __init__(self, model: str, *, max_tokens: int = 256, max_perplexity: float | None = None, threads: int = 1,
                 backend: str | None = None, exclusion_writer=None) -> None:
        super().__init__(exclusion_writer)
        self.model = model
        self.backend = backend
        self.max_tokens = max_tokens
        self.max_perplexity = max_perplexity
        self.threads = threads
        self._engine = None  # one engine per worker process, loaded on its first document

    def run(self, data, rank: int = 0, world_size: int = 1):
        try:
            yield from super().run(data, rank, world_size)
        finally:
            if self._engine is not None:
                self._engine.close()
                self._engine = None

    def filter(self, doc) -> bool | tuple[bool, str]:
        if self._engine is None:
            import infir_edge

            self._engine = infir_edge.load(self.model, backend=self.backend, n_ctx=self.max_tokens,
                                           threads=self.threads)
        # tokenizing a whole long document to keep its first tokens wastes time: ~4 characters a token, generously
        ids = self._engine.tokenize(doc.text[: self.max_tokens * 16])[: self.max_tokens]
        if len(ids) < 2:
            self.stat_update("perplexity_too_short")
            return True
        with self.track_time("perplexity"):
            value = perplexity(self._engine.teacher_forced_logits(ids), ids)
        quality_metadata(doc)["perplexity"] = round(value, 2)
        if self.max_perplexity is not None and value > self.max_perplexity:
            return False, f"quality_perplexity_above_{self.max_perplexity:g}"
        return True


def perplexity(logits, ids: list[int]) -> float:
    """exp(mean negative log-likelihood) of ids[1:] given the logits `[T, V]`: the evaluation suite's measure."""
    from training.eval.perplexity import token_nll

    return math.exp(float(token_nll(logits, ids).mean()))


def reference_texts(wiki: int, docstrings: int, *, seed: int = 0) -> list[str]:
    """The edu classifier's positives: `wiki` Wikipedia summaries and `docstrings` standard-library explanations
    (docstrings and blocks of comment lines, 200 characters or more), each a random draw."""
    from infir_edge.corpora import wikipedia_summaries

    rng = random.Random(seed)
    summaries = list(wikipedia_summaries())
    explanations = stdlib_explanations()
    return [*rng.sample(summaries, min(wiki, len(summaries))),
            *rng.sample(explanations, min(docstrings, len(explanations)))]


@lru_cache(maxsize=1)
def stdlib_explanations(min_chars: int = 200) -> tuple[str, ...]:
    """Docstrings and comment blocks of the standard library, the prose of code (parsing it all takes seconds)."""
    import ast

    from infir_edge.corpora import stdlib_source_files

    texts = []
    for path in stdlib_source_files():
        source = path.read_text(encoding="utf-8", errors="replace")
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError):
            continue
        texts += [text for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                  and (text := ast.get_docstring(node))]
        block: list[str] = []
        for line in [*source.splitlines(), ""]:
            stripped = line.strip()
            if stripped.startswith("#") and not stripped.startswith("#!"):
                block.append(stripped.lstrip("#").strip())
            elif block:
                texts.append(" ".join(block))
                block = []
    return tuple(text for text in texts if len(text) >= min_chars)
