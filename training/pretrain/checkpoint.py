"""Checkpoints that survive a kill: distributed (sharded) state through torch.distributed.checkpoint, written
atomically, and the final Hugging Face checkpoint.

    OUT/checkpoints/step_000040/     model + optimizer shards (DCP: one file per process + .metadata),
                                     trainer.json (step, stage, data position, scheduler)
    OUT/checkpoints/step_000040.partial/   a save in progress: ignored, removed by the next save

Every process writes its shards into the `.partial` folder; after a barrier rank 0 adds trainer.json and renames the
folder, so a checkpoint either exists whole or not at all. DCP reshards on load: a run may resume on a different
number of processes.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import warnings
from pathlib import Path

from infir_edge.files import atomic_directory, atomic_write_text
from training.pretrain.distributed import Runtime, barrier

PARTIAL = ".partial"
TRAINER_STATE = "trainer.json"


def step_folder(root: Path, step: int) -> Path:
    return root / f"step_{step:06d}"


def latest_checkpoint(root: Path) -> Path | None:
    """The complete checkpoint with the highest step, if any."""
    complete = [p for p in root.glob("step_*") if p.is_dir() and not p.name.endswith(PARTIAL)
                and (p / TRAINER_STATE).is_file()]
    return max(complete, key=lambda p: int(p.name.split("_")[1]), default=None)


def save_checkpoint(root: Path, step: int, model, optimizer, trainer_state: dict, runtime: Runtime,
                    keep: int) -> Path:
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.state_dict import get_state_dict

    final = step_folder(root, step)
    partial = final.with_name(final.name + PARTIAL)
    if runtime.is_main:
        shutil.rmtree(partial, ignore_errors=True)  # a save that was killed
        partial.mkdir(parents=True)
    barrier(runtime)
    model_state, optimizer_state = get_state_dict(model, optimizer)
    with _single_process_is_intended():
        dcp.save({"model": model_state, "optimizer": optimizer_state}, checkpoint_id=str(partial))
    barrier(runtime)
    if runtime.is_main:
        atomic_write_text(partial / TRAINER_STATE, json.dumps(trainer_state, indent=1))
        shutil.rmtree(final, ignore_errors=True)
        partial.rename(final)
        _prune(root, keep)
    barrier(runtime)
    return final


def load_checkpoint(folder: Path, model, optimizer) -> dict:
    """Restore model and optimizer from `folder` (collective); returns its trainer state."""
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.state_dict import get_state_dict, set_state_dict

    model_state, optimizer_state = get_state_dict(model, optimizer)
    state = {"model": model_state, "optimizer": optimizer_state}
    with _single_process_is_intended():
        dcp.load(state, checkpoint_id=str(folder))
    set_state_dict(model, optimizer, model_state_dict=state["model"], optim_state_dict=state["optimizer"])
    return json.loads((folder / TRAINER_STATE).read_text())


@contextlib.contextmanager
def _single_process_is_intended():
    """DCP warns that it assumes a single process when no process group exists: here that is the plan."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="torch.distributed is disabled")
        yield


def _prune(root: Path, keep: int) -> None:
    steps = sorted((p for p in root.glob("step_*") if p.is_dir() and not p.name.endswith(PARTIAL)),
                   key=lambda p: int(p.name.split("_")[1]))
    for old in steps[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


def save_final(out: Path, model, runtime: Runtime, *, tokenizer, provenance: dict) -> Path | None:
    """The trained model as an ordinary Hugging Face checkpoint in `out` (fp32 safetensors, the tokenizer and chat
    template training used), which `infir-edge export` reads. Collective: every process contributes its shards."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

    full = get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    if getattr(model.config, "tie_word_embeddings", False):
        full.pop("lm_head.weight", None)  # FSDP's full state dict repeats the tied embedding; transformers re-ties it
    if runtime.is_main:
        with atomic_directory(out, overwrite=True) as tmp:
            model.save_pretrained(tmp, state_dict={k: v.float() for k, v in full.items()})
            tokenizer.save_pretrained(tmp)
            (tmp / "infir_edge_source.json").write_text(json.dumps(provenance, indent=2) + "\n")
    barrier(runtime)
    return out if runtime.is_main else None
