"""Continued pretraining then annealing: one warmup-stable-decay schedule over the recipe's two stages.

    OUT/base/           the embedded default converted to a checkpoint (when the recipe starts from it)
    OUT/data/           the data pipeline's run on the built-in corpora (when the recipe's data folder is missing)
    OUT/tokens/<key>/   each mixture source tokenized by datatrove (shared by the stages that mix it)
    OUT/checkpoints/    sharded, atomic checkpoints (checkpoint.py)
    OUT/metrics.jsonl   one line per optimizer step; OUT/loss.png; OUT/summary.json
    OUT/final/          the trained model as a Hugging Face checkpoint

The same command resumes a killed run from its last checkpoint, with the next sequence of the data stream: the data
order is a pure function of the recipe and the sequences taken so far (mixture.py), not of the process count.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path

from infir_edge.files import atomic_write_text
from infir_edge.models.bundle import file_sha256
from training.pretrain import checkpoint as ckpt
from training.pretrain.config import STAGES, PretrainRecipe
from training.pretrain.distributed import (
    Runtime,
    all_reduce_sum,
    barrier,
    init_runtime,
    on_main,
    shard_model,
    shutdown,
)
from training.pretrain.errors import TrainingError
from training.pretrain.metrics import MetricsLog, plot_loss
from training.pretrain.mixture import MixtureSampler, batch_digest
from training.pretrain.model_setup import BaseModel, build_model, load_tokenizer, prepare_base, provenance
from training.pretrain.tokens import IGNORE_INDEX, SourceSpec, TokenWindows, packed_batch, tokenize_source


@dataclass(frozen=True)
class Prepared:
    base: BaseModel
    sources: dict[str, list[tuple[str, float]]]  # stage -> [(token folder, weight)]


def run_pretraining(recipe: PretrainRecipe, out: str | Path, *, max_steps: int | None = None,
                    echo=print) -> Path | None:
    """Train `recipe` into `out` (resuming what is there); returns `out/final` on the main process when finished,
    None when `max_steps` stopped this run early (a later run continues)."""
    runtime = init_runtime()
    try:
        return _train(recipe, Path(out).resolve(), runtime, max_steps, echo if runtime.is_main else _silent)
    finally:
        shutdown(runtime)


def _silent(*_args, **_kwargs) -> None:
    pass


def _train(recipe: PretrainRecipe, out: Path, runtime: Runtime, max_steps: int | None, echo) -> Path | None:
    import torch

    _set_threads(recipe, runtime)
    prepared = on_main(runtime, lambda: _prepare(recipe, out, echo))
    tokenizer = load_tokenizer(prepared.base)
    model = shard_model(build_model(prepared.base, tokenizer, seed=recipe.model.seed), runtime)
    model.config.use_cache = False
    optimizer = torch.optim.AdamW(_parameter_groups(model, recipe.optim.weight_decay), lr=recipe.optim.lr,
                                  betas=recipe.optim.betas, eps=recipe.optim.eps)
    plan = [(name, recipe.stage_steps(name)) for name in STAGES if name in recipe.stages]
    total_steps = sum(steps for _, steps in plan)
    scheduler = _wsd_schedule(optimizer, recipe, plan)
    windows = {folder: TokenWindows(Path(folder), recipe.data.seq_len, len(tokenizer))
               for stage_sources in prepared.sources.values() for folder, _ in stage_sources}
    samplers = {stage: MixtureSampler([w for _, w in sources], [len(windows[f]) for f, _ in sources])
                for stage, sources in prepared.sources.items()}

    checkpoints, metrics = out / "checkpoints", MetricsLog(out / "metrics.jsonl")
    step, tokens_seen, trained_s = 0, 0, 0.0
    latest = ckpt.latest_checkpoint(checkpoints)
    if latest is not None:
        state = ckpt.load_checkpoint(latest, model, optimizer)
        scheduler.load_state_dict(state["scheduler"])
        for stage, sampler_state in state["samplers"].items():
            samplers[stage].load_state_dict(sampler_state)
        step, tokens_seen, trained_s = state["step"], state["tokens"], state["trained_s"]
        echo(f"resuming from {latest} (step {step} of {total_steps}, {tokens_seen:,} tokens trained)")
    if runtime.is_main:
        metrics.truncate_after(step)
    barrier(runtime)

    stop_at = total_steps if max_steps is None else min(total_steps, step + max_steps)
    tokens_per_step = recipe.batch.global_batch * recipe.data.seq_len
    progress = _progress(runtime, total_steps, step)
    autocast = _autocast(recipe, runtime)
    while step < stop_at:
        stage = _stage_at(plan, step)
        started = time.perf_counter()
        draws = samplers[stage].draw_many(recipe.batch.global_batch)
        folders = [f for f, _ in prepared.sources[stage]]
        loss, grad_norm = _optimizer_step(model, optimizer, recipe, runtime, autocast,
                                          [windows[folders[d.source]][d.index] for d in _share(draws, runtime)])
        lr = scheduler.get_last_lr()[0]
        scheduler.step()
        step, tokens_seen = step + 1, tokens_seen + tokens_per_step
        elapsed = time.perf_counter() - started
        trained_s += elapsed
        record = {"step": step, "stage": stage, "loss": round(loss, 6), "lr": lr, "grad_norm": round(grad_norm, 6),
                  "tokens": tokens_seen, "tokens_per_s": round(tokens_per_step / elapsed, 1),
                  "epochs": max(d.epoch for d in draws), "batch_digest": batch_digest(draws)}
        if runtime.is_main:
            metrics.append(record)
            progress.set_postfix(stage=stage, loss=f"{loss:.3f}", tok_s=f"{tokens_per_step / elapsed:.0f}")
            progress.update(1)
        stage_ends = step == total_steps or _stage_at(plan, step) != stage
        if step % recipe.train.checkpoint_every == 0 or stage_ends or step == stop_at:
            state = {"step": step, "stage": stage, "tokens": tokens_seen, "trained_s": trained_s,
                     "scheduler": scheduler.state_dict(),
                     "samplers": {name: s.state_dict() for name, s in samplers.items()}}
            ckpt.save_checkpoint(checkpoints, step, model, optimizer, state, runtime, recipe.train.keep_checkpoints)
    progress.close()
    if step < total_steps:
        echo(f"stopped at step {step} of {total_steps}; run the same command to continue")
        return None
    final = ckpt.save_final(out / "final", model, runtime, tokenizer=tokenizer, provenance=provenance(prepared.base))
    if runtime.is_main:
        _write_summary(out, recipe, metrics.read(), trained_s, runtime)
        echo(f"wrote {final} ({tokens_seen:,} tokens in {total_steps} steps; metrics {out / 'metrics.jsonl'}, "
             f"plot {out / 'loss.png'})")
    return final


def _prepare(recipe: PretrainRecipe, out: Path, echo) -> Prepared:
    """Everything that writes before training: the pinned recipe, the base model, the data, the token files."""
    from training.pretrain.builtin_data import ensure_training_data

    out.mkdir(parents=True, exist_ok=True)
    _pin_recipe(out / "run.json", recipe)
    base = prepare_base(recipe.model, out, echo)
    kept = _under(out, recipe.data.kept)
    needs_kept = any(source.path is None for stage in recipe.stages.values() for source in stage.mixture)
    if needs_kept:
        ensure_training_data(kept, recipe.data.build_if_missing, echo)
    tokenizer = load_tokenizer(base)
    separator = recipe.data.document_separator or tokenizer.eos_token
    if separator not in tokenizer.get_vocab():
        raise TrainingError(f"data.document_separator {separator!r} is not a token of the tokenizer")
    tokenizer_file = base.tokenizer_dir / "tokenizer.json"
    fingerprint = f"{file_sha256(tokenizer_file)[:16]}|{separator}|{recipe.train.seed}"
    sources: dict[str, list[tuple[str, float]]] = {}
    for stage_name, stage in recipe.stages.items():
        sources[stage_name] = []
        for source in stage.mixture:
            spec = SourceSpec(_under(out, source.path) if source.path else kept, source.domain)
            folder = out / "tokens" / spec.key(fingerprint)
            counts = tokenize_source(spec, folder, tokenizer_file=tokenizer_file, vocab_size=len(tokenizer),
                                     separator=separator, tasks=recipe.data.tokenize_tasks, seed=recipe.train.seed,
                                     executor=recipe.data.tokenize_executor, echo=echo)
            echo(f"{stage_name}/{source.name}: {counts['documents']:,} documents, {counts['tokens']:,} tokens "
                 f"({folder.name})")
            sources[stage_name].append((str(folder), source.weight))
    return Prepared(base, sources)


def _under(out: Path, path: str) -> Path:
    return Path(path) if Path(path).is_absolute() else out / path


def _pin_recipe(path: Path, recipe: PretrainRecipe) -> None:
    """A run resumes only with the recipe it started with (how often to checkpoint or log may change)."""
    pinned = json.loads(json.dumps({k: v for k, v in dataclasses.asdict(recipe).items() if k != "train"}))
    pinned["seed"] = recipe.train.seed
    if path.exists():
        previous = json.loads(path.read_text())
        changed = sorted(k for k in set(previous) | set(pinned) if previous.get(k) != pinned.get(k))
        if changed:
            raise TrainingError(f"{path.parent} holds a run of a recipe with other {', '.join(changed)} settings: "
                                "use the same recipe to resume, or pass --overwrite to start over")
        return
    atomic_write_text(path, json.dumps(pinned, indent=1))


def _set_threads(recipe: PretrainRecipe, runtime: Runtime) -> None:
    import os

    import torch

    from infir_edge.runtime.resources import physical_cores, resolve_threads

    if runtime.device.type == "cpu":  # the physical cores, shared by the processes torchrun starts on this machine
        local = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
        threads = recipe.train.threads
        torch.set_num_threads(resolve_threads(threads) if threads is not None else max(1, physical_cores() // local))


def _parameter_groups(model, weight_decay: float) -> list[dict]:
    """Decay matrices only: norms (and biases, had Llama any) keep their scale."""
    params = [p for p in model.parameters() if p.requires_grad]
    return [{"params": [p for p in params if p.ndim >= 2], "weight_decay": weight_decay},
            {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}]


def _wsd_schedule(optimizer, recipe: PretrainRecipe, plan: list[tuple[str, int]]):
    """Warmup, a stable peak through the pretrain stage, then the decay over the anneal stage (transformers' WSD)."""
    from transformers import get_wsd_schedule

    steps = dict(plan)
    warmup = recipe.optim.warmup_steps
    return get_wsd_schedule(optimizer, num_warmup_steps=warmup, num_stable_steps=steps.get("pretrain", 0) - warmup
                            if "pretrain" in steps else 0, num_decay_steps=steps.get("anneal", 0),
                            decay_type=recipe.optim.decay, min_lr_ratio=recipe.optim.min_lr_ratio)


def _stage_at(plan: list[tuple[str, int]], step: int) -> str:
    for name, steps in plan:
        if step < steps:
            return name
        step -= steps
    return plan[-1][0]


def _share(draws: list, runtime: Runtime) -> list:
    """This process's contiguous share of a global batch."""
    per_process = len(draws) // runtime.world_size
    if per_process * runtime.world_size != len(draws):
        raise TrainingError(f"batch.global_batch {len(draws)} is not a multiple of the {runtime.world_size} processes")
    return draws[runtime.rank * per_process:(runtime.rank + 1) * per_process]


def _optimizer_step(model, optimizer, recipe: PretrainRecipe, runtime: Runtime, autocast, windows: list):
    """Forward and backward over this process's micro-batches, then clip and step. The loss is the mean over every
    label token of the global batch, whichever process or micro-batch holds it, so any process count and any
    accumulation computes the same gradient."""
    import torch
    import torch.nn.functional as F

    micro = recipe.batch.micro_batch
    if len(windows) % micro:
        raise TrainingError(f"{len(windows)} sequences per process is not a multiple of batch.micro_batch {micro}")
    batches = [packed_batch(windows[i:i + micro], runtime.device) for i in range(0, len(windows), micro)]
    local_tokens = sum(int((b["labels"] != IGNORE_INDEX).sum()) for b in batches)
    global_tokens = all_reduce_sum(local_tokens, runtime)
    loss_sum = 0.0
    for index, batch in enumerate(batches):
        if runtime.distributed:  # FSDP2: reduce-scatter gradients once, after the last micro-batch
            model.set_requires_gradient_sync(index == len(batches) - 1)
        with autocast:
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                           position_ids=batch["position_ids"], use_cache=False).logits  # [B, L, V]
        loss = F.cross_entropy(logits.float().flatten(0, 1), batch["labels"].flatten(), reduction="sum")
        # FSDP averages gradients over processes: scale by their count so the result is the global token mean
        (loss * runtime.world_size / global_tokens).backward()
        loss_sum += loss.item()
    clip = recipe.optim.grad_clip if recipe.optim.grad_clip > 0 else float("inf")
    grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    grad_norm = grad_norm.full_tensor() if hasattr(grad_norm, "full_tensor") else grad_norm
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return all_reduce_sum(loss_sum, runtime) / global_tokens, float(grad_norm)


def _autocast(recipe: PretrainRecipe, runtime: Runtime):
    import torch

    precision = recipe.train.precision
    if precision == "bf16" or (precision == "auto" and runtime.device.type == "cuda"):
        return torch.autocast(runtime.device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _progress(runtime: Runtime, total: int, done: int):
    from tqdm import tqdm

    return tqdm(total=total, initial=done, disable=not runtime.is_main, unit="step", dynamic_ncols=True,
                mininterval=1.0, desc="training")


def _write_summary(out: Path, recipe: PretrainRecipe, records: list[dict], trained_s: float, runtime: Runtime) -> None:
    by_stage = {}
    for record in records:
        by_stage.setdefault(record["stage"], []).append(record)
    tokens = records[-1]["tokens"] if records else 0
    summary = {
        "tokens": tokens,
        "steps": len(records),
        "processes": runtime.world_size,
        "device": str(runtime.device.type),
        "train_seconds": round(trained_s, 1),
        "tokens_per_s": round(tokens / trained_s, 1) if trained_s else None,
        "stages": {name: {"steps": len(rows), "first_loss": rows[0]["loss"], "last_loss": rows[-1]["loss"],
                          "median_tokens_per_s": sorted(r["tokens_per_s"] for r in rows)[len(rows) // 2]}
                   for name, rows in by_stage.items()},
        "final": str(out / "final"),
    }
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=1))
    plot_loss(records, out / "loss.png", f"{recipe.model.source}: continued pretraining and annealing")
