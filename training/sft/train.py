"""Supervised fine-tuning with TRL's SFTTrainer: loss on assistant tokens only, conversations packed without leaks.

    python -m training.sft.train --data chats.jsonl --model CKPT --out DIR [--trainable top_layers|full|lora] ...
    torchrun --nproc_per_node 8 -m training.sft.train --data chats.jsonl --model CKPT --out DIR ...

    DIR/base/           the embedded default converted to a checkpoint (when --model is 'default')
    DIR/checkpoints/    the Trainer's checkpoints (model, optimizer, scheduler, RNG, trainer_state.json)
    DIR/run.json        the data file's sha256 and the settings that change results: a rerun resumes only with these
    DIR/metrics.jsonl   one line per logged step (loss, lr, token accuracy, tokens, tokens/s); DIR/loss.png
    DIR/summary.json    examples used and dropped, packed rows, steps, wall time, tokens/s
    DIR/final/          an ordinary Hugging Face checkpoint (fp32, tied embeddings kept, the plain chat template)

Rerunning the same command resumes from the newest complete checkpoint (a killed save leaves one without
trainer_state.json, which is removed). Every conversation is tokenized through the model's chat template with
generation markers added (chat_template.py), packed into rows with a block-diagonal mask (packing.py), and the LM head
runs only at the positions that have a label (trainer.py).

What is trained (`trainable`; the default learning rate of each in DEFAULT_LR):
- top_layers: the last N decoder layers and the final norm; embeddings and the (tied) LM head frozen, so backward
  stops at the lowest trained layer. The CPU default: a third less compute than `full` at 16 of 30 layers.
- full: every parameter.
- lora: peft LoRA adapters on the attention and MLP projections, merged into the weights of DIR/final.

Scale-out: under torchrun every process runs this same function; the Trainer wraps the model in DDP (gloo on CPUs,
NCCL on GPUs), micro_batch is per process, the loss is the mean over every label token of the global batch, and only
rank 0 writes. FSDP is the user's option through an accelerate config (`accelerate launch --config_file fsdp.yaml -m
training.sft.train ...`); the final save gathers the full state dict, except LoRA, which merges on rank 0 (use DDP).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from infir_edge.files import atomic_write_text
from training.sft.errors import SFTError

TRAINABLE = ("top_layers", "full", "lora")
DEFAULT_LR = {"top_layers": 1e-4, "full": 5e-5, "lora": 2e-4}  # LoRA's low-rank updates take a larger step
PRECISIONS = ("auto", "bf16", "fp32")
RUN_OUTPUTS = ("checkpoints", "final", "run.json", "metrics.jsonl", "loss.png", "summary.json")
NOT_PINNED = ("threads", "save_steps", "save_total_limit", "logging_steps")  # these do not change the result


@dataclass
class LoraSettings:
    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass
class SFTSettings:
    model: str = "default"  # a checkpoint directory, or 'default' (the embedded model, converted into DIR/base)
    trainable: str = "top_layers"
    top_layers: int = 16
    lora: LoraSettings = field(default_factory=LoraSettings)
    lr: float | None = None  # None: DEFAULT_LR[trainable]
    lr_scheduler: str = "cosine"
    warmup_ratio: float = 0.05
    weight_decay: float = 0.0
    max_steps: int | None = None  # optimizer steps; None: `epochs` passes over the packed rows
    epochs: float = 1.0
    micro_batch: int = 2  # packed rows per process per forward
    grad_accum: int = 2
    pack_len: int = 1024
    max_seq_len: int = 512  # longer conversations are dropped (and counted), never truncated
    precision: str = "auto"  # auto: bf16 autocast where the device computes bf16 natively, fp32 master weights
    grad_clip: float = 1.0
    threads: int | None = None  # CPU threads per process; None: the physical cores shared among local processes
    save_steps: int = 50
    save_total_limit: int = 2
    logging_steps: int = 1
    seed: int = 0

    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else DEFAULT_LR[self.trainable]

    def check(self) -> None:
        if self.trainable not in TRAINABLE:
            raise SFTError(f"trainable must be one of {', '.join(TRAINABLE)}, not {self.trainable!r}")
        if self.precision not in PRECISIONS:
            raise SFTError(f"precision must be one of {', '.join(PRECISIONS)}, not {self.precision!r}")
        at_least_one = {"top_layers": self.top_layers, "micro_batch": self.micro_batch, "grad_accum": self.grad_accum,
                        "pack_len": self.pack_len, "max_seq_len": self.max_seq_len, "save_steps": self.save_steps,
                        "save_total_limit": self.save_total_limit, "logging_steps": self.logging_steps,
                        "max_steps": self.max_steps, "threads": self.threads, "lora.r": self.lora.r}
        for name, value in at_least_one.items():
            if value is not None and value < 1:
                raise SFTError(f"{name} must be at least 1, not {value}")
        if not (self.learning_rate > 0 and self.epochs > 0 and self.lora.alpha > 0 and 0 <= self.lora.dropout < 1):
            raise SFTError(f"lr, epochs and lora.alpha must be positive and lora.dropout in [0, 1) (lr "
                           f"{self.learning_rate}, epochs {self.epochs}, alpha {self.lora.alpha}, "
                           f"dropout {self.lora.dropout})")
        if self.pack_len < self.max_seq_len:
            raise SFTError(f"pack_len {self.pack_len} is shorter than max_seq_len {self.max_seq_len}: a conversation "
                           "that fits max_seq_len must fit a packed row")


def train_sft(data: str | Path, out: str | Path, settings: SFTSettings, *, overwrite: bool = False,
              progress: bool = True, echo=print) -> Path:
    """Fine-tune `settings.model` on the conversations in `data` into `out` (resuming what is there, unless
    `overwrite`); returns `out/final`."""
    from training.pretrain.distributed import init_runtime, shutdown

    settings.check()
    data, out = Path(data), Path(out).resolve()
    if out.exists() and not out.is_dir():
        raise SFTError(f"--out {out} is a file, not a folder")
    conversations = _read(data)  # every process: a malformed file fails each the same way, before anything is written
    runtime = init_runtime()
    try:
        return _train(data, conversations, out, settings, runtime, overwrite, progress,
                      echo if runtime.is_main else _silent)
    finally:
        shutdown(runtime)


def _silent(*_args, **_kwargs) -> None:
    pass


def _read(data: Path) -> list:
    from training.sft.chat_template import read_conversations

    return read_conversations(data)


def _train(data: Path, conversations: list, out: Path, settings: SFTSettings, runtime, overwrite: bool,
           progress: bool, echo) -> Path:
    import datasets

    from training.pretrain.distributed import barrier, on_main
    from training.pretrain.metrics import MetricsLog
    from training.sft import trainer as st
    from training.sft.chat_template import strip_generation_markers, tokenize_conversations, with_generation_markers
    from training.sft.packing import PackedCollator, pack_examples

    started = time.perf_counter()
    model_dir = on_main(runtime, lambda: st.model_directory(settings.model, out, echo))
    tokenizer = st.load_tokenizer(model_dir)
    original_template = strip_generation_markers(tokenizer.chat_template)
    marked = with_generation_markers(tokenizer.chat_template)
    examples, dropped = tokenize_conversations(tokenizer, conversations, marked, settings.max_seq_len)
    if not examples:
        raise SFTError(f"no conversation of {data} fits max_seq_len {settings.max_seq_len} tokens")
    rows = pack_examples(examples, settings.pack_len)
    # everything that can refuse the settings (the model, the Trainer's checks, threads) before anything is pinned
    model = st.load_model(model_dir, settings)
    precision = st.resolve_precision(settings.precision, runtime)
    metrics = MetricsLog(out / "metrics.jsonl")
    trainer = st.build_trainer(model, tokenizer, datasets.Dataset.from_list(rows),
                               PackedCollator(tokenizer.pad_token_id), settings, out / "checkpoints",
                               precision=precision, progress=progress, metrics=metrics if runtime.is_main else None)
    st.set_threads(settings.threads, runtime)  # after the Trainer: accelerate sets its own count when OMP's is unset
    pinned = _pinned(data, settings, precision, runtime.world_size)
    plan = on_main(runtime, lambda: _prepare_run(out, pinned, overwrite))
    if plan["finished"]:
        echo(f"{out / 'final'} is already trained with these settings (pass --overwrite to train again)")
        return out / "final"
    echo(f"{len(examples)} conversations ({dropped} longer than {settings.max_seq_len} tokens dropped) packed into "
         f"{len(rows)} rows of at most {settings.pack_len} tokens")
    if plan["resume"]:
        echo(f"resuming from {plan['resume']}")
    result = trainer.train(resume_from_checkpoint=plan["resume"])
    final = st.save_final(trainer, out / "final", tokenizer, original_template, model_dir, runtime)
    if runtime.is_main:
        records = metrics.read()
        _write_summary(out, settings, records, examples=len(examples), dropped=dropped, rows=len(rows),
                       steps=result.global_step, train_seconds=trainer.train_seconds,
                       tokens=trainer.tokens_this_run, wall=time.perf_counter() - started)
        echo(f"wrote {final} ({result.global_step} steps; metrics {out / 'metrics.jsonl'}, plot {out / 'loss.png'})")
    barrier(runtime)
    return final


def _pinned(data: Path, settings: SFTSettings, precision: str, processes: int) -> dict:
    from infir_edge.models.bundle import file_sha256

    pinned = {k: v for k, v in dataclasses.asdict(settings).items() if k not in NOT_PINNED}
    pinned.update(data_sha256=file_sha256(data), lr=settings.learning_rate, precision=precision, processes=processes)
    if settings.trainable != "top_layers":
        pinned.pop("top_layers")
    if settings.trainable != "lora":
        pinned.pop("lora")
    return json.loads(json.dumps(pinned))  # tuples as lists, as they read back


def _prepare_run(out: Path, pinned: dict, overwrite: bool) -> dict:
    """On the main process: discard the old run (overwrite) or check it is this run, and find where to resume."""
    out.mkdir(parents=True, exist_ok=True)
    run_file = out / "run.json"
    if overwrite:
        for name in RUN_OUTPUTS:
            target = out / name
            shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
    if run_file.exists():
        previous = json.loads(run_file.read_text())
        changed = sorted(k for k in set(previous) | set(pinned) if previous.get(k) != pinned.get(k))
        if changed:
            what = "data file" if changed == ["data_sha256"] else f"{', '.join(changed)} settings"
            raise SFTError(f"{out} holds a run with another {what}: use the same to resume, or --overwrite to start "
                           "over")
    else:
        atomic_write_text(run_file, json.dumps(pinned, indent=1))
    if (out / "final" / "config.json").is_file():
        return {"finished": True, "resume": None}
    resume = _latest_complete_checkpoint(out / "checkpoints")
    if resume is not None:
        from training.pretrain.metrics import MetricsLog

        step = json.loads((Path(resume) / "trainer_state.json").read_text())["global_step"]
        MetricsLog(out / "metrics.jsonl").truncate_after(step)  # the resumed run logs the later steps again
    else:
        (out / "metrics.jsonl").unlink(missing_ok=True)
    return {"finished": False, "resume": resume}


def _latest_complete_checkpoint(root: Path) -> str | None:
    """The newest checkpoint-N with a readable trainer_state.json (the Trainer writes it last); the incomplete ones
    a kill left are removed, lest the Trainer's rotation keep them over complete ones."""
    complete = []
    for folder in root.glob("checkpoint-*"):
        try:
            step = int(folder.name.split("-")[1])
            json.loads((folder / "trainer_state.json").read_text())
        except (ValueError, OSError):
            shutil.rmtree(folder, ignore_errors=True)
            continue
        complete.append((step, folder))
    return str(max(complete)[1]) if complete else None


def _write_summary(out: Path, settings: SFTSettings, records: list[dict], *, examples: int, dropped: int, rows: int,
                   steps: int, train_seconds: float, tokens: int, wall: float) -> None:
    from training.pretrain.metrics import plot_loss

    summary = {
        "examples": examples, "dropped_too_long": dropped, "packed_rows": rows, "steps": steps,
        "trainable": settings.trainable, "tokens_trained": records[-1]["tokens"] if records else 0,
        "tokens_this_run": tokens, "train_seconds_this_run": round(train_seconds, 1),
        "tokens_per_s": round(tokens / train_seconds, 1) if train_seconds else None,
        "wall_seconds_this_run": round(wall, 1),
        "first_loss": records[0]["loss"] if records else None, "last_loss": records[-1]["loss"] if records else None,
        "final": str(out / "final"),
    }
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=1))
    plot_loss(records, out / "loss.png", f"{Path(settings.model).name}: supervised fine-tuning ({settings.trainable})")


def build_parser():
    from infir_edge.cli import CliParser

    defaults = SFTSettings()
    parser = CliParser(prog="python -m training.sft.train", description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="a JSONL file, one {\"messages\": [...]} conversation a line")
    parser.add_argument("--model", default="default", help="a checkpoint directory, or 'default' (the embedded model)")
    parser.add_argument("--out", required=True, help="the run's folder: checkpoints, metrics, final/ (resumed)")
    parser.add_argument("--trainable", choices=TRAINABLE, default=defaults.trainable)
    parser.add_argument("--top-layers", type=int, default=defaults.top_layers, help="layers trained by top_layers")
    parser.add_argument("--max-steps", type=int, help="optimizer steps (default: --epochs over the data)")
    parser.add_argument("--epochs", type=float, default=defaults.epochs)
    parser.add_argument("--lr", type=float, help=f"peak learning rate (default by --trainable: {DEFAULT_LR})")
    parser.add_argument("--micro-batch", type=int, default=defaults.micro_batch, help="packed rows per forward")
    parser.add_argument("--grad-accum", type=int, default=defaults.grad_accum)
    parser.add_argument("--pack-len", type=int, default=defaults.pack_len)
    parser.add_argument("--max-seq-len", type=int, default=defaults.max_seq_len)
    parser.add_argument("--precision", choices=PRECISIONS, default=defaults.precision)
    parser.add_argument("--threads", type=int, help="CPU threads per process")
    parser.add_argument("--save-steps", type=int, default=defaults.save_steps)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--overwrite", action="store_true", help="discard the run in --out and start over")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=_command)
    return parser


def _command(args) -> int:
    settings = SFTSettings(model=args.model, trainable=args.trainable, top_layers=args.top_layers,
                           max_steps=args.max_steps, epochs=args.epochs, lr=args.lr, micro_batch=args.micro_batch,
                           grad_accum=args.grad_accum, pack_len=args.pack_len, max_seq_len=args.max_seq_len,
                           precision=args.precision, threads=args.threads, save_steps=args.save_steps, seed=args.seed)
    train_sft(args.data, args.out, settings, overwrite=args.overwrite, progress=not args.no_progress,
              echo=lambda line: print(line, flush=True))
    return 0


def main(argv: list[str] | None = None) -> int:
    from infir_edge.cli import run_command

    args = build_parser().parse_args(argv)
    return run_command(args.func, args)


if __name__ == "__main__":
    import sys

    sys.exit(main())
