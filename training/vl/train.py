"""One InfiR-VL training stage: which parts learn (the freeze plan), AdamW with warmup + cosine decay, the loss on
answers only, resumable checkpoints, and the stage's model written as a Hugging Face checkpoint.

The paper's plan (Figure 3): stage 1 aligns the projector with tower and LM frozen; stage 2 (text rendering) trains
projector + LM; stage 3 (instruction tuning) follows the recipe. Single process on a CPU or one GPU; under
`torchrun` the LM's and the tower's layers are sharded with FSDP2 (training.pretrain.distributed), and every
process reads a disjoint slice of each batch.
"""

from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from training.pretrain.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from training.pretrain.distributed import Runtime, all_reduce_sum
from training.pretrain.errors import TrainingError
from training.pretrain.metrics import MetricsLog, plot_loss
from training.vl.batches import Encoded, collate

PARTS = ("projector", "vision", "lm")


@dataclass
class StageSettings:
    name: str
    data: dict[str, int] = field(default_factory=dict)  # data set name -> examples drawn from it (0: all)
    train: list[str] = field(default_factory=lambda: ["projector"])  # the parts that learn; the rest is frozen
    lm_top_layers: int = 0  # with "lm": only the top k decoder layers learn (0: all, embeddings included)
    steps: int = 100
    batch_size: int = 8
    lr: float = 1e-3
    warmup: float = 0.05  # fraction of the steps
    weight_decay: float = 0.0
    max_length: int = 320
    checkpoint_every: int = 50
    seed: int = 0


def freeze_plan(model, stage: StageSettings) -> int:
    """Set requires_grad by the stage's plan; returns the number of trainable parameters."""
    for parameter in model.parameters():
        parameter.requires_grad = False
    parts = {"projector": [model.model.multi_modal_projector], "vision": [model.model.vision_tower]}
    lm = model.model.language_model
    if stage.lm_top_layers:
        parts["lm"] = list(lm.layers[-stage.lm_top_layers:]) + [lm.norm]
    else:
        parts["lm"] = [lm, model.lm_head]
    for name in stage.train:
        for module in parts[name]:
            for parameter in module.parameters():
                parameter.requires_grad = True
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def shard_vl_model(model, runtime: Runtime):
    """FSDP2 over the LM's and the tower's layers, then the root; a plain module in a single process."""
    if not runtime.distributed:
        return model.to(runtime.device)
    from torch.distributed.fsdp import fully_shard

    model.to(runtime.device)
    for layer in [*model.model.language_model.layers, *model.model.vision_tower.vision_model.encoder.layers]:
        fully_shard(layer)
    fully_shard(model)
    return model


def _schedule(optimizer, stage: StageSettings):
    from transformers import get_cosine_schedule_with_warmup

    return get_cosine_schedule_with_warmup(optimizer, max(1, int(stage.warmup * stage.steps)), stage.steps)


def batch_order(n_examples: int, stage: StageSettings, step: int) -> list[int]:
    """The example indices of optimizer step `step`: a fresh seeded shuffle each epoch, so a resumed run draws
    exactly the batches the uninterrupted one would have."""
    per_epoch = max(1, n_examples // stage.batch_size)
    epoch, offset = divmod(step, per_epoch)
    order = list(range(n_examples))
    random.Random(stage.seed * 1_000_003 + epoch).shuffle(order)
    return order[offset * stage.batch_size:(offset + 1) * stage.batch_size]


def train_stage(model, tokenizer, encoded: list[Encoded], stage: StageSettings, out: Path, runtime: Runtime, *,
                dtype: str = "bfloat16", echo=print, progress: bool = True) -> dict:
    """Train `model` in place on `encoded` by `stage`; checkpoints in OUT/checkpoints (resumed from the latest),
    one line per step in OUT/metrics.jsonl, OUT/loss.png. Returns the stage's summary."""
    import torch
    from tqdm import tqdm

    if len(encoded) < stage.batch_size:
        raise TrainingError(f"stage {stage.name}: {len(encoded)} examples, fewer than one batch of {stage.batch_size}")
    out.mkdir(parents=True, exist_ok=True)
    trainable = freeze_plan(model, stage)
    model.train()
    model = shard_vl_model(model, runtime)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=stage.lr,
                                  weight_decay=stage.weight_decay, betas=(0.9, 0.95))
    scheduler = _schedule(optimizer, stage)
    log = MetricsLog(out / "metrics.jsonl")
    start = 0
    resume = latest_checkpoint(out / "checkpoints")
    if resume is not None:
        state = load_checkpoint(resume, model, optimizer)
        start = state["step"]
        scheduler.load_state_dict(state["scheduler"])
        log.truncate_after(start)
        echo(f"stage {stage.name}: resumed at step {start}/{stage.steps} from {resume}")
    autocast = dtype == "bfloat16"
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    began, tokens = time.perf_counter(), 0
    bar = tqdm(range(start, stage.steps), desc=f"stage {stage.name}", unit="step", disable=not (progress and
                                                                                              runtime.is_main))
    for step in bar:
        indices = batch_order(len(encoded), stage, step)[runtime.rank::runtime.world_size]
        batch = {k: v.to(runtime.device) for k, v in collate([encoded[i] for i in indices], pad_id).items()}
        with torch.autocast(runtime.device.type, dtype=torch.bfloat16, enabled=autocast):
            loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        tokens += int(batch["attention_mask"].sum())
        mean_loss = all_reduce_sum(float(loss.detach()), runtime) / runtime.world_size
        if runtime.is_main:
            log.append({"step": step + 1, "stage": stage.name, "loss": round(mean_loss, 4),
                        "lr": scheduler.get_last_lr()[0], "tokens": tokens})
            bar.set_postfix(loss=f"{mean_loss:.3f}")
        if (step + 1) % stage.checkpoint_every == 0 and step + 1 < stage.steps:
            save_checkpoint(out / "checkpoints", step + 1, model, optimizer,
                            {"step": step + 1, "scheduler": scheduler.state_dict()}, runtime, keep=1)
    model.eval()
    seconds = time.perf_counter() - began
    records = log.read()
    if runtime.is_main and records:
        plot_loss(records, out / "loss.png", f"InfiR-VL stage {stage.name}")
    return {"stage": asdict(stage), "trainable_parameters": trainable, "steps": stage.steps, "resumed_at": start,
            "seconds": round(seconds, 1), "tokens_per_s": round(tokens / seconds, 1) if seconds else None,
            "first_loss": records[0]["loss"] if records else None,
            "final_loss": records[-1]["loss"] if records else None}
