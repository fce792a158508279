"""Documents -> token files -> packed training sequences, through datatrove.

Each mixture source (a folder of the data pipeline's JSONL documents, optionally one domain of it) is tokenized once by
datatrove's `DocumentTokenizer`: documents shuffled, a separator token appended to each, written as `.ds` token files
with a `.ds.index` of document ends. Training reads fixed windows of `seq_len + 1` tokens from them with datatrove's
`DatatroveFileDataset` through memory-mapped seeks, so memory does not grow with the corpus. The same step runs on
Slurm or Ray (training/data/executors.py) for a corpus that needs a cluster to tokenize.

Documents are packed back to back with no padding; the document ends travel with each window as per-token positions,
from which `packed_batch` builds a block-diagonal causal mask: no token attends across a document boundary and no
label asks the model to predict the first token of the next document.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from datatrove.pipeline.filters.base_filter import BaseFilter

from infir_edge.files import atomic_write_text
from training.data.executors import ExecutorSettings
from training.pretrain.errors import TrainingError

IGNORE_INDEX = -100  # torch's cross_entropy default


class DomainFilter(BaseFilter):
    """Keep the documents of one `metadata.domain` (a class, not a lambda: datatrove ships steps to its workers)."""

    name = "🏷 Domain"

    def __init__(self, domain: str) -> None:
        super().__init__()
        self.domain = domain

    def filter(self, doc) -> bool:
        return doc.metadata.get("domain") == self.domain


@dataclass(frozen=True)
class SourceSpec:
    path: Path  # a folder of datatrove JSONL documents
    domain: str | None

    def key(self, tokenization: str) -> str:
        """The token folder's name: the same documents, tokenized the same way (`tokenization`: tokenizer,
        separator, shuffle seed), are tokenized once, whichever stages mix them."""
        digest = hashlib.sha256(f"{self.path.resolve()}|{self.domain}|{tokenization}".encode()).hexdigest()[:10]
        return f"{self.domain or 'all'}-{digest}"


def token_size(vocab_size: int) -> int:
    """Bytes per token in datatrove's files: uint16 while the vocabulary fits, else uint32 (its own rule)."""
    return 4 if vocab_size > 2**16 else 2


def tokenize_source(spec: SourceSpec, folder: Path, *, tokenizer_file: Path, vocab_size: int, separator: str,
                    tasks: int, seed: int, executor: ExecutorSettings | None = None, echo=print) -> dict:
    """Tokenize `spec`'s documents into `folder` on `executor` (default: local processes); resumable: datatrove
    skips finished tasks. Returns its counts."""
    done = folder / "done.json"
    if done.exists():
        return json.loads(done.read_text())
    files = sorted(p for p in spec.path.rglob("*") if p.is_file() and p.name.endswith((".jsonl", ".jsonl.gz")))
    if not files:
        raise TrainingError(f"{spec.path}: no .jsonl or .jsonl.gz documents to train on")

    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.tokens import DocumentTokenizer

    from training.data.executors import make_executor
    from training.data.pipeline import check_executor_available, wait_until_complete

    pipeline = [JsonlReader(str(spec.path), glob_pattern="**/*.jsonl*", recursive=True)]
    if spec.domain:
        pipeline.append(DomainFilter(spec.domain))
    pipeline.append(DocumentTokenizer(output_folder=str(folder / "tokens"), tokenizer_name_or_path=str(tokenizer_file),
                                      eos_token=separator, seed=seed, shuffle_documents=True))
    tasks = min(tasks, len(files))  # datatrove deals whole files to tasks
    executor = executor or ExecutorSettings()
    check_executor_available(executor.kind)
    runner = make_executor(executor, pipeline, logging_dir=str(folder / "logs"), tasks=tasks)
    runner.run()
    wait_until_complete([runner], echo)  # Slurm's run() only submits
    token_files = sorted((folder / "tokens").glob("*.ds"))
    counts = {"tokens": sum(p.stat().st_size for p in token_files) // token_size(vocab_size),
              "documents": sum((p.with_name(p.name + ".index")).stat().st_size // 8 for p in token_files),
              "files": len(token_files), "source": str(spec.path), "domain": spec.domain}
    if not counts["tokens"]:
        where = f"documents of domain {spec.domain!r}" if spec.domain else "documents"
        raise TrainingError(f"{spec.path}: no {where} to train on")
    atomic_write_text(done, json.dumps(counts, indent=1))
    return counts


class TokenWindows:
    """Fixed windows of `seq_len + 1` tokens of one tokenized source, with each token's position in its document."""

    def __init__(self, folder: Path, seq_len: int, vocab_size: int) -> None:
        from datatrove.utils.dataset import DatatroveFolderDataset

        self.dataset = DatatroveFolderDataset(str(folder / "tokens"), seq_len, filename_pattern="*.ds",
                                              token_size=token_size(vocab_size), return_positions=True)
        if len(self.dataset) == 0:
            raise TrainingError(f"{folder}: fewer than {seq_len + 1} tokens, not one training sequence")

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int):
        item = self.dataset[index]
        return item["input_ids"], item["positions"]  # [L + 1], [L + 1]


def packed_batch(windows: list, device):
    """Model inputs of a micro-batch of windows: input ids, labels, positions restarting at each document, and a
    block-diagonal causal mask (sdpa's boolean form, True = attend)."""
    import torch

    tokens = torch.stack([w[0] for w in windows]).to(device)  # [B, L + 1]
    positions = torch.stack([w[1] for w in windows]).to(device=device, dtype=torch.long)  # [B, L + 1]
    input_ids, labels = tokens[:, :-1], tokens[:, 1:].clone()  # [B, L]
    labels[positions[:, 1:] == 0] = IGNORE_INDEX  # the first token of a document is not predicted from another one
    position_ids = positions[:, :-1]  # [B, L]
    document = torch.cumsum(position_ids == 0, dim=1)  # [B, L]: which document each token belongs to
    length = input_ids.shape[1]
    causal = torch.ones(length, length, dtype=torch.bool, device=device).tril()  # [L, L]
    mask = (document[:, :, None] == document[:, None, :]) & causal  # [B, L, L]
    return {"input_ids": input_ids, "labels": labels, "position_ids": position_ids, "attention_mask": mask[:, None]}
