"""Stage 3, "dedup": exact then near-duplicate removal across the whole corpus (every task sees every other's hashes).

Exact: a sha1 of the whitespace-normalized text; the first copy in reading order stays. Near: MinHash LSH over word
5-grams with 14 bands of 8 hashes (datatrove's defaults, after Lee et al. 2022 and FineWeb): pairs above Jaccard ~0.72
are found (P = 0.92 at J = 0.8, 0.56 at J = 0.7), clusters are formed, one member of each stays. Each phase's
signature and filter executors read the same folder with the same tasks, as datatrove's index-based removal needs.
"""

from __future__ import annotations

from dataclasses import dataclass

from datatrove.data import Document

from training.data import documents
from training.data.errors import DataError
from training.data.stages.base import StageContext


@dataclass
class DedupConfig:
    exact: bool = True
    minhash: bool = True
    n_grams: int = 5  # word shingles (datatrove / FineWeb)
    num_buckets: int = 14  # LSH bands ...
    hashes_per_bucket: int = 8  # ... of 8 hashes: 112 in all, threshold (1/14)^(1/8) ~ 0.72
    seed: int = 1
    # Off (datatrove's default is on): mapping every number to 0 makes templated math problems that differ only in
    # their numbers, and code that differs only in constants, look identical, and they are distinct documents; web
    # near-duplicates that differ in a few numbers still share most of their 5-grams.
    norm_numbers: bool = False


def whitespace_normalized(doc: Document) -> str:
    return " ".join(doc.text.split())


class DedupStage:
    name = "dedup"

    def __init__(self, config: DedupConfig) -> None:
        if not (config.exact or config.minhash):
            raise DataError("dedup: exact and minhash are both off; leave the stage out of `stages` instead")
        self.config = config

    def prepare(self, context: StageContext) -> None:
        """Nothing to prepare: the hashes are computed by the executors."""

    def minhash_config(self):
        from datatrove.pipeline.dedup import MinhashConfig
        from datatrove.utils.hashing import HashConfig
        from datatrove.utils.text import TextNormConfig

        c = self.config
        return MinhashConfig(n_grams=c.n_grams, num_buckets=c.num_buckets, hashes_per_bucket=c.hashes_per_bucket,
                             seed=c.seed, norm_config=TextNormConfig(norm_numbers=c.norm_numbers),
                             hash_config=HashConfig(precision=64, hash_fc="sha1"))

    def executors(self, context: StageContext) -> list:
        from training.data.executors import make_executor

        phases = [phase for phase, on in (("exact", self.config.exact), ("minhash", self.config.minhash)) if on]
        chain: list = []
        source, first = context.input_folder, context.first
        for i, phase in enumerate(phases):
            last = i == len(phases) - 1
            output = context.output_folder if last else f"{context.work_folder}/{phase}_survivors"

            def reader(source=source, first=first):
                return documents.reader(source, first=first, glob_pattern=context.input_glob if first else None)

            def executor(pipeline: list, name: str, tasks: int = context.tasks):
                made = make_executor(context.executor, pipeline, logging_dir=f"{context.logs_folder}/{name}",
                                     tasks=tasks, depends=chain[-1] if chain else None)
                chain.append(made)

            build = self._exact if phase == "exact" else self._minhash
            build(context, reader, executor, output)
            source, first = output, False
        return chain

    def _exact(self, context: StageContext, reader, executor, output: str) -> None:
        from datatrove.pipeline.dedup import ExactDedupConfig, ExactDedupFilter, ExactDedupSignature, ExactFindDedups
        from datatrove.utils.hashing import HashConfig

        config = ExactDedupConfig(content_getter=whitespace_normalized,
                                  hash_config=HashConfig(precision=64, hash_fc="sha1"))
        signatures, duplicates = f"{context.work_folder}/exact_signatures", f"{context.work_folder}/exact_duplicates"
        executor([reader(), ExactDedupSignature(signatures, config=config, finder_workers=1)], "exact_signatures")
        executor([ExactFindDedups(data_folder=signatures, output_folder=duplicates, config=config)], "exact_find",
                 tasks=1)
        removed = documents.writer(f"{context.removed_folder}/exact_duplicate", reason="exact_duplicate")
        executor([reader(), ExactDedupFilter(data_folder=duplicates, config=config, exclusion_writer=removed),
                  documents.writer(output)], "exact_filter")

    def _minhash(self, context: StageContext, reader, executor, output: str) -> None:
        from datatrove.pipeline.dedup import (
            MinhashDedupBuckets,
            MinhashDedupCluster,
            MinhashDedupFilter,
            MinhashDedupSignature,
        )

        config = self.minhash_config()
        work = context.work_folder
        executor([reader(), MinhashDedupSignature(f"{work}/minhash_signatures", config=config)], "minhash_signatures")
        executor([MinhashDedupBuckets(f"{work}/minhash_signatures", f"{work}/minhash_buckets", config=config)],
                 "minhash_buckets", tasks=config.num_buckets)  # datatrove needs a multiple of the bucket count
        executor([MinhashDedupCluster(f"{work}/minhash_buckets", f"{work}/minhash_remove", config=config)],
                 "minhash_cluster", tasks=1)
        removed = documents.writer(f"{context.removed_folder}/minhash_near_duplicate", reason="minhash_near_duplicate")
        executor([reader(), MinhashDedupFilter(f"{work}/minhash_remove", exclusion_writer=removed),
                  documents.writer(output)], "minhash_filter")
