"""VL training inputs: the Engine's chat text, the image token expanded per patch, the loss on the answer only."""

from __future__ import annotations

import pytest
from PIL import Image

import infir_edge
from infir_edge.models.vl import load_vl_checkpoint
from training.vl.batches import IGNORE, Encoder, collate
from training.vl.examples import VLExample


@pytest.fixture(scope="module")
def encoder(tiny_vl_checkpoint):
    model, tokenizer = load_vl_checkpoint(tiny_vl_checkpoint)
    return Encoder(tokenizer, model.config)


def _example(target='{"action": "click", "x": 5, "y": 7}'):
    return VLExample(Image.new("RGB", (30, 60), (250, 0, 0)), 'Tap "Save".', target, "grounding")


def test_the_prompt_is_what_the_engine_renders_for_an_image_and_text(encoder, tiny_vl_checkpoint):
    with infir_edge.load(tiny_vl_checkpoint, backend="torch") as engine:
        text = engine.apply_chat_template([{"role": "user", "content": '<image>\nTap "Save".'}])
        assert encoder.prompt_ids('Tap "Save".') == engine.tokenize(text)


def test_the_image_token_becomes_one_position_per_patch(encoder):
    encoded = encoder.encode(_example())
    assert encoded.input_ids.count(encoder.image_token_id) == encoder.image_tokens == 16


def test_only_the_answer_and_its_end_of_turn_are_learned(encoder):
    encoded = encoder.encode(_example())
    learned = [t for t in encoded.labels if t != IGNORE]
    assert encoder.tokenizer.decode(learned) == '{"action": "click", "x": 5, "y": 7}' + encoder.end_of_turn
    assert encoded.labels[: len(encoded.labels) - len(learned)] == [IGNORE] * (len(encoded.labels) - len(learned))


def test_images_are_kept_at_the_towers_input_size(encoder):
    assert encoder.encode(_example()).image.shape == (64, 64, 3)


def test_collate_pads_on_the_side_asked_and_masks_padding(encoder):
    short, long = encoder.encode(_example("1")), encoder.encode(_example("a much longer answer than one"))
    right = collate([short, long], pad_id=0)
    left = collate([short, long], pad_id=0, left_pad=True)
    gap = len(long.input_ids) - len(short.input_ids)
    assert right["attention_mask"][0, -gap:].sum() == 0 and left["attention_mask"][0, :gap].sum() == 0
    assert (right["labels"][0, -gap:] == IGNORE).all()
    assert right["pixel_values"].shape == (2, 3, 64, 64)
