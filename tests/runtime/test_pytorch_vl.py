"""The torch VL backend: images in chat messages, the same answer as transformers' own LLaVA pipeline."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import infir_edge
from infir_edge.errors import ContextOverflowError, InvalidRequestError


@pytest.fixture(scope="module")
def vl_engine(tiny_vl_checkpoint):
    with infir_edge.load(tiny_vl_checkpoint, backend="torch") as engine:
        yield engine


def _image(seed: int) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (48, 80, 3), dtype=np.uint8))


def _chat(image, text="What is this?"):
    return [{"role": "user", "content": [{"type": "image", "image": image}, {"type": "text", "text": text}]}]


def test_load_picks_the_vl_engine_for_a_llava_checkpoint(vl_engine):
    assert vl_engine.supports_images and vl_engine.info().architecture == "llava"
    assert vl_engine.image_tokens == 16


def test_prefill_matches_transformers_processor_and_model(vl_engine, tiny_vl_checkpoint):
    import torch
    from transformers import AutoProcessor

    processor = AutoProcessor.from_pretrained(tiny_vl_checkpoint, use_fast=False)
    image = _image(0)
    text = vl_engine.apply_chat_template([{"role": "user", "content": "<image>\nWhat is this?"}])
    inputs = processor(images=image, text=text, return_tensors="pt")
    with torch.inference_mode():
        expected = vl_engine.model(**inputs).logits[0, -1].numpy()
    got = vl_engine._prefill_images(text, [image])
    assert np.allclose(got, expected, atol=1e-4)


def test_the_image_changes_the_answer_distribution(vl_engine):
    first = vl_engine._prefill_images("<image>\nHi", [_image(1)])
    second = vl_engine._prefill_images("<image>\nHi", [_image(2)])
    assert not np.allclose(first, second, atol=1e-3)


def test_generation_from_an_image_is_deterministic_when_greedy(vl_engine, tmp_path):
    path = tmp_path / "screen.png"
    _image(3).save(path)
    a = vl_engine.generate(_chat(path), max_new_tokens=6, temperature=0.0)
    b = vl_engine.generate(_chat(_image(3)), max_new_tokens=6, temperature=0.0)
    assert a.token_ids == b.token_ids and a.timings.prompt_tokens > vl_engine.image_tokens


def test_text_only_prompts_still_work(vl_engine):
    assert vl_engine.generate("Hello", max_new_tokens=3, temperature=0.0).timings.generated_tokens == 3


def test_image_embeddings_have_one_row_per_patch_in_the_lm_width(vl_engine):
    embeddings = vl_engine.image_embeddings(_image(4))
    assert embeddings.shape == (16, vl_engine.model.config.text_config.hidden_size)


def test_context_overflow_counts_the_image_tokens(tiny_vl_checkpoint):
    with infir_edge.load(tiny_vl_checkpoint, backend="torch", n_ctx=40) as engine:
        text_only = len(engine.prompt_ids([{"role": "user", "content": "x"}]))
        assert text_only + 8 < 40  # the same prompt fits without its image
        with pytest.raises(ContextOverflowError):
            engine.generate(_chat(_image(5), "x"), max_new_tokens=8)


def test_a_placeholder_typed_as_text_is_refused(vl_engine):
    with pytest.raises(InvalidRequestError, match="marks 2 images"):
        vl_engine.generate(_chat(_image(6), "look: <image>"), max_new_tokens=2)


def test_a_malformed_content_part_is_refused(vl_engine):
    with pytest.raises(InvalidRequestError, match="content part"):
        vl_engine.generate([{"role": "user", "content": [{"type": "video", "video": "x"}]}], max_new_tokens=2)


def test_a_text_model_refuses_images(tiny_checkpoint):
    with infir_edge.load(tiny_checkpoint, backend="torch") as engine, \
            pytest.raises(InvalidRequestError, match="takes no images"):
        engine.generate(_chat(_image(7)), max_new_tokens=2)


def test_a_placeholder_without_an_image_is_refused(vl_engine):
    with pytest.raises(InvalidRequestError, match="no image was given"):
        vl_engine.generate([{"role": "user", "content": "<image>\nWhat is this?"}], max_new_tokens=2)
