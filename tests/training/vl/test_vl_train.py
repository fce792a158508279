"""One VL stage: the freeze plan, the batch order a resume repeats, a loss that falls, a run that resumes."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from infir_edge.models.vl import load_vl_checkpoint
from training.pretrain.distributed import init_runtime
from training.pretrain.errors import TrainingError
from training.vl.batches import Encoder
from training.vl.examples import VLExample
from training.vl.train import StageSettings, batch_order, freeze_plan, train_stage


@pytest.fixture()
def model_and_data(tiny_vl_checkpoint):
    model, tokenizer = load_vl_checkpoint(tiny_vl_checkpoint)
    encoder = Encoder(tokenizer, model.config)
    colours = {"red": (230, 20, 20), "green": (20, 200, 40), "blue": (20, 40, 230), "white": (250, 250, 250)}
    examples = [VLExample(Image.new("RGB", (64, 64), rgb), "Which colour?", name, "caption")
                for name, rgb in colours.items()] * 2
    return model, tokenizer, [encoder.encode(e) for e in examples]


def _trainable(model, part):
    return any(p.requires_grad for p in part.parameters())


def test_stage_one_trains_the_projector_only(model_and_data):
    model = model_and_data[0]
    freeze_plan(model, StageSettings(name="s", train=["projector"]))
    assert _trainable(model, model.model.multi_modal_projector)
    assert not _trainable(model, model.model.vision_tower) and not _trainable(model, model.model.language_model)


def test_top_layers_of_the_lm_learn_while_the_rest_stays(model_and_data):
    model = model_and_data[0]
    freeze_plan(model, StageSettings(name="s", train=["projector", "lm"], lm_top_layers=1))
    layers = model.model.language_model.layers
    assert _trainable(model, layers[-1]) and not _trainable(model, layers[0])
    assert not model.get_input_embeddings().weight.requires_grad


def test_batch_order_is_a_fixed_function_of_the_step():
    stage = StageSettings(name="s", batch_size=3, seed=4)
    first_epoch = [i for step in range(3) for i in batch_order(9, stage, step)]
    assert sorted(first_epoch) == list(range(9))
    assert batch_order(9, stage, 5) == batch_order(9, stage, 5)
    assert batch_order(9, stage, 3) != batch_order(9, stage, 0)  # a new shuffle each epoch


def test_training_lowers_the_loss(model_and_data, tmp_path):
    model, tokenizer, encoded = model_and_data
    stage = StageSettings(name="s", train=["projector", "lm"], steps=12, batch_size=4, lr=3e-3, warmup=0.0)
    summary = train_stage(model, tokenizer, encoded, stage, tmp_path, init_runtime(), dtype="float32",
                          progress=False)
    assert summary["final_loss"] < summary["first_loss"]
    assert (tmp_path / "loss.png").read_bytes()[:4] == b"\x89PNG"


def test_an_interrupted_stage_resumes_from_its_checkpoint(model_and_data, tmp_path, tiny_vl_checkpoint):
    model, tokenizer, encoded = model_and_data
    stage = StageSettings(name="s", train=["projector"], steps=4, batch_size=2, checkpoint_every=2)
    train_stage(model, tokenizer, encoded, StageSettings(**{**stage.__dict__, "steps": 4}), tmp_path,
                init_runtime(), dtype="float32", progress=False)
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    # drop the run's end as a kill after the step-2 checkpoint would have, then run again
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records[:3]))
    fresh, _ = load_vl_checkpoint(tiny_vl_checkpoint)
    summary = train_stage(fresh, tokenizer, encoded, stage, tmp_path, init_runtime(), dtype="float32",
                          progress=False)
    assert summary["resumed_at"] == 2
    resumed = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in resumed] == [1, 2, 3, 4]
    assert resumed[2]["loss"] == pytest.approx(records[2]["loss"], abs=1e-4)


def test_fewer_examples_than_a_batch_is_a_training_error(model_and_data, tmp_path):
    model, tokenizer, encoded = model_and_data
    with pytest.raises(TrainingError, match="fewer than one batch"):
        train_stage(model, tokenizer, encoded[:1], StageSettings(name="s", batch_size=2), tmp_path, init_runtime())
