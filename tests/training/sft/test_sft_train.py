"""`training.sft.train` end to end on the tiny checkpoint: the loss where the labels are, what top_layers trains, a
run that learns and writes a loadable final checkpoint, a killed run resumed, a changed run refused, LoRA merged, two
processes under torchrun, and bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from training.sft.chat_template import has_generation_markers
from training.sft.errors import SFTError
from training.sft.train import SFTSettings, main, train_sft

FACTS = [("What is 12 + 30?", "Step 1: 12 + 30 = 42.\nThe answer is 42."), ("Capital of France?", "Paris."),
         ("Say hi.", "Hi!"), ("What is 7 * 6?", "7 * 6 = 42."), ("Colour of the sky?", "Blue."),
         ("Opposite of up?", "Down."), ("2 + 2?", "4"), ("Name a prime.", "7")]
# small rows and steps: a few seconds a run on 2 cores
TINY = {"pack_len": 192, "max_seq_len": 96, "micro_batch": 2, "grad_accum": 1, "threads": 2, "save_steps": 4}


def _write_chats(path: Path, repeats: int = 4, facts=FACTS) -> Path:
    lines = [json.dumps({"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]})
             for _ in range(repeats) for q, a in facts]
    path.write_text("\n".join(lines) + "\n")
    return path


def _metrics(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def _batch(tokenizer):
    from training.sft.chat_template import tokenize_conversations, with_generation_markers
    from training.sft.packing import PackedCollator, pack_examples

    conversations = [[{"role": "user", "content": q}, {"role": "assistant", "content": a}] for q, a in FACTS]
    examples, _ = tokenize_conversations(tokenizer, conversations, with_generation_markers(tokenizer.chat_template), 96)
    return PackedCollator(tokenizer.pad_token_id)(pack_examples(examples, 192))


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, tiny_checkpoint) -> Path:
    folder = tmp_path_factory.mktemp("sft")
    data = _write_chats(folder / "chats.jsonl")
    settings = SFTSettings(model=str(tiny_checkpoint), trainable="full", lr=3e-3, max_steps=12, **TINY)
    final = train_sft(data, folder / "run", settings, progress=False)
    assert final == folder / "run" / "final"
    return folder / "run"


@pytest.mark.parametrize("wrapped", ["plain", "peft"])
def test_the_loss_at_label_positions_equals_the_full_logits_loss(tiny_checkpoint, wrapped):
    import torch
    import torch.nn.functional as F
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from training.sft.trainer import add_label_positions_head, label_positions_loss, lora_config

    tokenizer = AutoTokenizer.from_pretrained(tiny_checkpoint)
    model = AutoModelForCausalLM.from_pretrained(tiny_checkpoint, dtype=torch.float32, attn_implementation="sdpa")
    if wrapped == "peft":
        from peft import get_peft_model

        from training.sft.train import LoraSettings

        model = get_peft_model(model, lora_config(LoraSettings(dropout=0.0)))
        torch.nn.init.normal_(model.base_model.model.model.layers[0].self_attn.q_proj.lora_B["default"].weight)
    batch = _batch(tokenizer)
    logits = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"],
                   attention_mask=batch["attention_mask"], use_cache=False).logits
    expected = F.cross_entropy(logits[:, :-1].flatten(0, 1), batch["labels"][:, 1:].flatten(), ignore_index=-100)
    add_label_positions_head(model.get_base_model() if wrapped == "peft" else model)
    loss, _, count = label_positions_loss(model, dict(batch))
    assert int(count) == int((batch["labels"] != -100).sum())
    torch.testing.assert_close(loss, expected, atol=1e-5, rtol=0)
    loss_sum, _, _ = label_positions_loss(model, dict(batch), num_items_in_batch=torch.tensor(1))
    torch.testing.assert_close(loss_sum, expected * count, atol=1e-3, rtol=1e-6)


def test_top_layers_trains_only_the_top_layers_and_the_final_norm(tiny_checkpoint):
    from training.sft.trainer import load_model

    model = load_model(tiny_checkpoint, SFTSettings(trainable="top_layers", top_layers=1))
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert trainable == {name for name, _ in model.named_parameters()
                         if name.startswith("model.layers.1.") or name == "model.norm.weight"}
    with pytest.raises(SFTError, match="has 2 layers"):
        load_model(tiny_checkpoint, SFTSettings(trainable="top_layers", top_layers=3))


def test_a_short_run_lowers_the_loss(finished_run):
    rows = _metrics(finished_run)
    assert [r["step"] for r in rows] == list(range(1, 13))
    assert sum(r["loss"] for r in rows[-3:]) / 3 < rows[0]["loss"] - 1.0
    assert all(r["tokens_per_s"] > 0 for r in rows) and rows[-1]["tokens"] > rows[0]["tokens"]
    summary = json.loads((finished_run / "summary.json").read_text())
    assert summary["examples"] == len(FACTS) * 4 and summary["dropped_too_long"] == 0 and summary["steps"] == 12
    assert (finished_run / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_final_checkpoint_loads_with_the_plain_chat_template(finished_run, tiny_checkpoint):
    from safetensors import safe_open
    from transformers import AutoTokenizer

    import infir_edge

    final = finished_run / "final"
    with infir_edge.load(final) as engine:
        assert engine.generate("Capital of France?", max_new_tokens=3).timings.generated_tokens >= 1
    template = AutoTokenizer.from_pretrained(final).chat_template
    assert not has_generation_markers(template)
    assert template == AutoTokenizer.from_pretrained(tiny_checkpoint).chat_template
    with safe_open(final / "model.safetensors", "pt") as f:
        assert "lm_head.weight" not in f.keys()  # noqa: SIM118 (safe_open has no __contains__); tied: stored once
    assert json.loads((final / "infir_edge_source.json").read_text())["trained_by"] == "training.sft"


def test_a_killed_run_resumes_from_its_checkpoint(tmp_path, tiny_checkpoint):
    data, out = _write_chats(tmp_path / "chats.jsonl", repeats=8), tmp_path / "run"
    args = [sys.executable, "-m", "training.sft.train", "--data", str(data), "--model", str(tiny_checkpoint),
            "--out", str(out), "--trainable", "full", "--max-steps", "24", "--save-steps", "2", "--pack-len", "96",
            "--max-seq-len", "96", "--micro-batch", "1", "--grad-accum", "1", "--threads", "2", "--no-progress"]
    env = {**os.environ, "TRANSFORMERS_VERBOSITY": "error"}
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 120
    while not (out / "checkpoints" / "checkpoint-2" / "trainer_state.json").is_file():
        assert process.poll() is None and time.monotonic() < deadline, "the run ended before its first checkpoint"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (out / "final").exists()
    result = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "resuming from" in result.stdout and "checkpoint-" in result.stdout
    assert [r["step"] for r in _metrics(out)] == list(range(1, 25))  # none twice, none missing
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 24 and summary["tokens_this_run"] < summary["tokens_trained"]
    assert (out / "final" / "model.safetensors").is_file()


def test_another_data_file_needs_overwrite(finished_run, tmp_path, tiny_checkpoint):
    other = _write_chats(tmp_path / "other.jsonl", repeats=2)
    settings = SFTSettings(model=str(tiny_checkpoint), trainable="full", lr=3e-3, max_steps=12, **TINY)
    pinned = (finished_run / "run.json").read_text()
    with pytest.raises(SFTError, match="another data file.*--overwrite"):
        train_sft(other, finished_run, settings, progress=False)
    assert (finished_run / "run.json").read_text() == pinned


def test_lora_trains_and_writes_merged_weights(tmp_path, tiny_checkpoint):
    from safetensors.torch import load_file

    data = _write_chats(tmp_path / "chats.jsonl", repeats=1)
    settings = SFTSettings(model=str(tiny_checkpoint), trainable="lora", max_steps=3, lr=1e-2, **TINY)
    final = train_sft(data, tmp_path / "run", settings, progress=False)
    assert not list(final.glob("adapter*"))
    merged, base = load_file(final / "model.safetensors"), load_file(tiny_checkpoint / "model.safetensors")
    assert set(merged) == set(base)  # plain Llama names, no lora_ tensors
    name = "model.layers.0.self_attn.q_proj.weight"
    assert (merged[name] - base[name]).abs().max() > 0  # the adapter is in the weights
    assert (merged["model.embed_tokens.weight"] == base["model.embed_tokens.weight"]).all()


def test_two_processes_under_torchrun_finish(tmp_path, tiny_checkpoint):
    data, out = _write_chats(tmp_path / "chats.jsonl", repeats=2), tmp_path / "run"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               "-m", "training.sft.train", "--data", str(data), "--model", str(tiny_checkpoint), "--out", str(out),
               "--trainable", "full", "--max-steps", "3", "--save-steps", "2", "--pack-len", "96",
               "--max-seq-len", "96", "--micro-batch", "1", "--grad-accum", "1", "--threads", "1", "--no-progress"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "TRANSFORMERS_VERBOSITY": "error"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert (out / "final" / "model.safetensors").is_file()
    assert json.loads((out / "run.json").read_text())["processes"] == 2
    assert [r["step"] for r in _metrics(out)] == [1, 2, 3]  # rank 0 alone writes


@pytest.mark.parametrize("content", [None, "{oops\n", '{"messages": [{"role": "user", "content": "hi"}]}\n'])
def test_bad_input_is_one_error_line_and_exit_2(tmp_path, tiny_checkpoint, capsys, content):
    data = tmp_path / "chats.jsonl"
    if content is not None:
        data.write_text(content)
    code = main(["--data", str(data), "--model", str(tiny_checkpoint), "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1
    assert not (tmp_path / "run").exists()
