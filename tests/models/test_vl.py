"""InfiR-VL checkpoints: standard LLaVA classes, the LM kept, the image token, the SDK's preprocessing."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from infir_edge.errors import InvalidRequestError, ModelFormatError
from infir_edge.models.images import load_image, pixel_values
from infir_edge.models.vl import IMAGE_TOKEN, VL_PRESETS, build_vl_model, is_vl_checkpoint, load_vl_checkpoint


def test_the_checkpoint_loads_in_the_standard_transformers_classes(tiny_vl_checkpoint):
    from transformers import AutoProcessor, LlavaForConditionalGeneration

    model = LlavaForConditionalGeneration.from_pretrained(tiny_vl_checkpoint)
    processor = AutoProcessor.from_pretrained(tiny_vl_checkpoint, use_fast=False)
    assert model.config.vision_config.model_type == "siglip_vision_model"
    assert processor.image_token == IMAGE_TOKEN
    inputs = processor(images=Image.new("RGB", (80, 50), (10, 200, 30)), text=f"{IMAGE_TOKEN}\nHi",
                       return_tensors="pt")
    assert int((inputs["input_ids"] == model.config.image_token_index).sum()) == model.config.image_seq_length


def test_the_language_model_keeps_the_text_checkpoints_weights(tiny_vl_checkpoint, tiny_checkpoint):
    from transformers import AutoModelForCausalLM

    lm = AutoModelForCausalLM.from_pretrained(tiny_checkpoint)
    vl, _ = load_vl_checkpoint(tiny_vl_checkpoint)
    old = lm.get_input_embeddings().weight
    new = vl.get_input_embeddings().weight
    assert new.shape[0] == old.shape[0] + 1  # the <image> row
    assert np.array_equal(new[:-1].detach().numpy(), old.detach().numpy())
    layer = "layers.1.mlp.down_proj.weight"
    assert np.array_equal(vl.model.language_model.state_dict()[layer].numpy(), lm.model.state_dict()[layer].numpy())


def test_the_image_token_is_one_special_token_of_the_tokenizer(tiny_vl_checkpoint):
    model, tokenizer = load_vl_checkpoint(tiny_vl_checkpoint)
    ids = tokenizer(f"a {IMAGE_TOKEN} b", add_special_tokens=False)["input_ids"]
    assert ids.count(model.config.image_token_index) == 1


def test_sdk_pixels_equal_the_saved_siglip_processors(tiny_vl_checkpoint):
    from transformers import AutoImageProcessor

    processor = AutoImageProcessor.from_pretrained(tiny_vl_checkpoint, use_fast=False)
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 256, (90, 40, 3), dtype=np.uint8))
    expected = processor(images=image, return_tensors="np")["pixel_values"][0]
    assert np.allclose(pixel_values(image, 64), expected, atol=1e-5)


def test_a_checkpoint_records_how_it_was_built(tiny_vl_checkpoint):
    built = json.loads((tiny_vl_checkpoint / "infir_edge_vl.json").read_text())
    assert built["vision"] is None and built["vision_shape"]["patch_size"] == 16


def test_a_text_checkpoint_is_not_a_vl_checkpoint(tiny_checkpoint):
    assert not is_vl_checkpoint(tiny_checkpoint)
    with pytest.raises(ModelFormatError, match="not an InfiR-VL"):
        load_vl_checkpoint(tiny_checkpoint)


def test_an_unknown_preset_is_refused():
    with pytest.raises(InvalidRequestError, match="tiny-vl"):
        build_vl_model("huge-vl")


def test_image_tokens_are_whole_patches_per_side():
    assert VL_PRESETS["infir-vl-1.6b"].image_tokens == 27 * 27  # so400m: 14 px patches, the 6 px remainder dropped
    assert VL_PRESETS["tiny-vl"].image_tokens == 12 * 12


def test_images_load_from_paths_and_bad_files_are_refused(tmp_path):
    path = tmp_path / "a.png"
    Image.new("L", (5, 7)).save(path)
    assert load_image(path).mode == "RGB"
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(InvalidRequestError, match="not a readable image"):
        load_image(tmp_path / "bad.png")
    with pytest.raises(InvalidRequestError, match="does not exist"):
        load_image(tmp_path / "missing.png")
    with pytest.raises(InvalidRequestError, match="PIL.Image or a path"):
        load_image(b"bytes")
