"""The model, TRL's SFTTrainer around it with the loss computed only where the labels are, and the final checkpoint.

The loss: TRL 1.16's own fused LM head scores only the labelled positions on Triton devices, every position
elsewhere; for the 135M the 49,152-row head at every position is a fifth of the compute, and in SFT most positions
(system prompt, user turns) have no label. Here the decoder runs to hidden states, the positions whose next token is a
label are gathered, and the head runs on those alone. That happens inside the model's forward, so DDP (and FSDP) see
the head's parameters used like any other.
"""

from __future__ import annotations

import json
import os
import time
import types
from pathlib import Path

from training.sft.errors import SFTError
from training.sft.packing import IGNORE_INDEX, REAL_TOKENS

PROVENANCE = "infir_edge_source.json"


def model_directory(source: str, out: Path, echo) -> Path:
    """`source` as a checkpoint directory: 'default' is the embedded model, converted into `out/base` once."""
    if source == "default":
        from training.pretrain.model_setup import default_checkpoint

        return default_checkpoint(out, echo)
    path = Path(source).expanduser().resolve()
    if not (path / "config.json").is_file():
        raise SFTError(f"--model {source}: not 'default' or a checkpoint directory with a config.json")
    if not (path / "tokenizer.json").is_file():
        raise SFTError(f"--model {source}: no tokenizer.json (training tokenizes with it)")
    return path


def load_tokenizer(model_dir: Path):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    if not tokenizer.is_fast:  # the assistant mask maps characters to tokens through the fast tokenizer's offsets
        raise SFTError(f"{model_dir}: assistant-only loss needs a fast tokenizer (a tokenizer.json)")
    if not tokenizer.chat_template:
        raise SFTError(f"{model_dir}: the tokenizer has no chat template to render conversations with")
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token  # padding is masked out and never a label: any token will do
    return tokenizer


def load_model(model_dir: Path, settings):
    """The model in fp32 (the master weights; bf16 is autocast) with sdpa attention, which the packed rows' boolean
    block-diagonal mask needs (eager attention mishandles it); for top_layers, everything else frozen."""
    import torch
    from transformers import AutoModelForCausalLM

    try:
        model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32, attn_implementation="sdpa")
    except Exception as e:  # safetensors, config and I/O errors have no common base
        raise SFTError(f"{model_dir}: transformers could not load the model: {e}") from None
    if settings.trainable == "top_layers":
        freeze_below_top(model, settings.top_layers)
    return model


def freeze_below_top(model, top_layers: int) -> None:
    """Train the last `top_layers` decoder layers and the final norm only. With the embeddings frozen no input needs a
    gradient, so autograd records nothing below the lowest trained layer: no backward through the frozen ones."""
    backbone = model.base_model
    layers, norm = getattr(backbone, "layers", None), getattr(backbone, "norm", None)
    if layers is None or norm is None:
        raise SFTError(f"trainable top_layers needs a decoder with .layers and .norm, not {type(model).__name__}")
    if top_layers > len(layers):
        raise SFTError(f"top_layers {top_layers}: the model has {len(layers)} layers (use --trainable full)")
    model.requires_grad_(False)
    for module in [*layers[len(layers) - top_layers:], norm]:
        module.requires_grad_(True)


def resolve_precision(precision: str, runtime) -> str:
    """'auto': bf16 autocast where the device computes bf16 natively (AMX or AVX512-BF16 CPUs: ~1.6x fp32 here;
    bf16-capable GPUs), else fp32."""
    if precision != "auto":
        return precision
    import torch

    from infir_edge.runtime.pytorch import native_dtype

    if runtime.device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if native_dtype(torch) == "bfloat16" else "fp32"


def set_threads(threads: int | None, runtime) -> None:
    """The physical cores, shared by the processes torchrun starts on this machine (or `threads` each)."""
    if runtime.device.type != "cpu":
        return
    import torch

    from infir_edge.runtime.resources import physical_cores, resolve_threads

    local = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    torch.set_num_threads(resolve_threads(threads) if threads is not None else max(1, physical_cores() // local))


def add_label_positions_head(model) -> None:
    """After this, `model(..., sft_label_positions=mask)` runs the decoder, then the LM head only where `mask`
    ([B, L - 1]: the next token is a label) is True, and returns those logits, [N, V]. Without the keyword the forward
    is the one it was. `model` is the causal LM itself (a peft model's base model)."""
    original = model.forward

    def forward(self, *args, sft_label_positions=None, **kwargs):
        if sft_label_positions is None:
            return original(*args, **kwargs)
        # peft passes labels, return_dict and the like as None: the decoder takes none of them
        kwargs = {k: v for k, v in kwargs.items() if v is not None and k not in ("labels", "return_dict")}
        hidden = self.base_model(*args, **kwargs).last_hidden_state  # [B, L, H]
        return self.get_output_embeddings()(hidden[:, :-1][sft_label_positions])  # [N, V]

    model.forward = types.MethodType(forward, model)


def label_positions_loss(model, inputs: dict, num_items_in_batch=None):
    """(cross-entropy summed over the label tokens / `num_items_in_batch` (their mean when None), top-1 hits, label
    tokens) of one batch; `model` has the label-positions head (itself or under peft, DDP)."""
    import torch
    import torch.nn.functional as F

    targets = inputs["labels"][:, 1:]  # the label of position t is predicted from position t - 1
    positions = targets != IGNORE_INDEX
    model_inputs = {k: v for k, v in inputs.items() if k not in ("labels", REAL_TOKENS)}
    # use_cache=False also matters for masking: with a cache transformers ignores packed position_ids (packing.py)
    logits = model(**model_inputs, use_cache=False, sft_label_positions=positions).float()  # [N, V]
    wanted = targets[positions]
    loss = F.cross_entropy(logits, wanted, reduction="sum")
    count = positions.sum()
    denominator = count if num_items_in_batch is None else num_items_in_batch
    correct = (logits.detach().argmax(-1) == wanted).sum()
    return loss / torch.as_tensor(denominator).clamp(min=1), correct, count


def lora_config(lora):
    from peft import LoraConfig

    return LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                      target_modules=list(lora.target_modules), task_type="CAUSAL_LM")


def build_trainer(model, tokenizer, dataset, collator, settings, output_dir: Path, *, precision: str,
                  progress: bool, metrics):
    """TRL's SFTTrainer on the packed rows as they are: no preparation, no TRL packing, our collator and loss."""
    import torch
    from trl import SFTConfig

    cpu = not torch.cuda.is_available()
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1  # a backend named in one process makes accelerate wait
    try:
        config = SFTConfig(
            output_dir=str(output_dir), per_device_train_batch_size=settings.micro_batch,
            gradient_accumulation_steps=settings.grad_accum, learning_rate=settings.learning_rate,
            lr_scheduler_type=settings.lr_scheduler, warmup_ratio=settings.warmup_ratio,
            weight_decay=settings.weight_decay, max_grad_norm=settings.grad_clip,
            max_steps=settings.max_steps or -1, num_train_epochs=settings.epochs,
            bf16=precision == "bf16", fp16=False, gradient_checkpointing=False,  # TRL defaults it on: recompute costs
            logging_strategy="steps", logging_steps=settings.logging_steps, save_strategy="steps",
            save_steps=settings.save_steps, save_total_limit=settings.save_total_limit, seed=settings.seed,
            report_to=[], disable_tqdm=not progress, use_cpu=cpu, ddp_backend="gloo" if cpu and distributed else None,
            ddp_find_unused_parameters=False,  # every trainable parameter gets a gradient every step
            dataloader_pin_memory=not cpu, max_length=None, packing=False,
            dataset_kwargs={"skip_prepare_dataset": True}, remove_unused_columns=False)
    except ValueError as e:  # transformers' own checks (an unknown scheduler name, ...)
        raise SFTError(f"the trainer refused the settings: {e}") from None
    peft_config = lora_config(settings.lora) if settings.trainable == "lora" else None
    trainer = _trainer_class()(model=model, args=config, data_collator=collator, train_dataset=dataset,
                               processing_class=tokenizer, peft_config=peft_config, metrics=metrics)
    if not progress:  # without the progress bar the Trainer prints every log as a dict: metrics.jsonl has them
        from transformers.trainer_callback import PrinterCallback

        trainer.remove_callback(PrinterCallback)
    return trainer


def _trainer_class():
    import torch
    import torch.distributed as dist
    from trl import SFTTrainer

    class LabelPositionsTrainer(SFTTrainer):
        """SFTTrainer whose loss runs the LM head where the labels are, logging token accuracy and tokens/s into
        `metrics` (a training.pretrain.metrics.MetricsLog, on the main process)."""

        def __init__(self, *args, metrics=None, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            # compute_loss divides by the Trainer's count of label tokens over the accumulated micro-batches and every
            # process itself, so accumulation and DDP give the gradient of one big batch
            self.model_accepts_loss_kwargs = True
            add_label_positions_head(self.model.get_base_model() if hasattr(self.model, "get_base_model")
                                     else self.model)
            self.metrics = metrics
            self._counts = torch.zeros(3, dtype=torch.float64, device=self.args.device)  # tokens, top-1 hits, labels
            self._pending = torch.zeros(3, dtype=torch.float64)
            self._interval_start: float | None = None
            self.train_seconds, self.tokens_this_run = 0.0, 0

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            real_tokens = inputs.pop(REAL_TOKENS, None)
            loss, correct, count = label_positions_loss(model, inputs, num_items_in_batch)
            if self.args.average_tokens_across_devices and num_items_in_batch is not None:
                loss = loss * self.accelerator.num_processes  # DDP averages gradients; the count is already global
            if model.training:
                if self._interval_start is None:
                    self._interval_start = time.perf_counter()
                tokens = real_tokens if real_tokens is not None else inputs["input_ids"].numel()
                self._counts += torch.stack([torch.as_tensor(x, device=self._counts.device).double()
                                             for x in (tokens, correct, count)])
            return (loss, None) if return_outputs else loss

        def _flush_counts(self) -> None:
            """Sum the processes' counts into the trainer state (collective: every process calls it at once)."""
            counts = self._counts.clone()
            if dist.is_available() and dist.is_initialized():
                dist.all_reduce(counts)
            self._counts.zero_()
            self._pending += counts.cpu()
            self.state.num_input_tokens_seen += int(counts[0])
            self.tokens_this_run += int(counts[0])

        def log(self, logs: dict, start_time: float | None = None) -> None:
            if "loss" in logs and self._interval_start is not None:  # a training step's log, on every process
                self._flush_counts()
                now = time.perf_counter()
                seconds, (tokens, correct, labelled) = now - self._interval_start, self._pending.tolist()
                self._pending.zero_()
                self._interval_start, self.train_seconds = now, self.train_seconds + seconds
                logs["mean_token_accuracy"] = correct / labelled if labelled else 0.0
                logs["tokens"] = self.state.num_input_tokens_seen
                logs["tokens_per_s"] = round(tokens / seconds, 1) if seconds > 0 else 0.0
                if self.metrics is not None:
                    self.metrics.append({"step": self.state.global_step, "stage": "sft", "loss": logs["loss"],
                                         "lr": logs.get("learning_rate"), "grad_norm": logs.get("grad_norm"),
                                         "mean_token_accuracy": round(logs["mean_token_accuracy"], 4),
                                         "tokens": logs["tokens"], "tokens_per_s": logs["tokens_per_s"],
                                         "epoch": self.state.epoch})
            super().log(logs, start_time)

        def _save_checkpoint(self, model, trial) -> None:
            self._flush_counts()  # the saved state counts every token trained so far
            began = time.perf_counter()
            super()._save_checkpoint(model, trial)
            if self._interval_start is not None:  # saving is not training: keep it out of tokens/s
                self._interval_start += time.perf_counter() - began

    return LabelPositionsTrainer


def save_final(trainer, final: Path, tokenizer, chat_template: str, model_dir: Path, runtime) -> Path:
    """The trained model as an ordinary Hugging Face checkpoint in `final`, written atomically by the main process:
    fp32 safetensors (a LoRA adapter merged in), the tied embedding once, the tokenizer with the plain chat template,
    and the base's provenance (export reads its tokenizer_pre)."""
    from infir_edge.files import atomic_directory
    from training.pretrain.distributed import barrier

    model = trainer.accelerator.unwrap_model(trainer.model)
    if hasattr(model, "merge_and_unload"):  # peft
        state, model = None, model.merge_and_unload() if runtime.is_main else None
    else:
        state = trainer.accelerator.get_state_dict(trainer.model)  # collective under FSDP: the full state on rank 0
    if runtime.is_main:
        state = model.state_dict() if state is None else state
        if getattr(model.config, "tie_word_embeddings", False):
            state.pop("lm_head.weight", None)  # transformers ties it again on load
        provenance = {}
        if (model_dir / PROVENANCE).is_file():
            provenance = json.loads((model_dir / PROVENANCE).read_text())
        provenance.update(trained_by="training.sft", base=str(model_dir))
        tokenizer.chat_template = chat_template
        with atomic_directory(final, overwrite=True) as tmp:
            model.save_pretrained(tmp, state_dict={k: v.detach().float().cpu() for k, v in state.items()})
            tokenizer.save_pretrained(tmp)
            (tmp / PROVENANCE).write_text(json.dumps(provenance, indent=2) + "\n")
    barrier(runtime)
    return final
