from __future__ import annotations

import sysconfig
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFont

from infir_edge.corpora import wikipedia_summaries
from training.vl.examples import read_examples, write_examples
from training.vl.text_render import KINDS, TextRenderConfig, render_examples, transcription_accuracy

CLEAN = {"noise_p": 0.0}


def only(kind: str, **overrides) -> TextRenderConfig:
    return TextRenderConfig(mix={kind: 1.0}, **overrides)


@pytest.fixture(scope="module")
def noisy() -> list:
    return list(render_examples(TextRenderConfig(noise_p=0.5), 60, seed=0))


def source_text(meta: dict) -> str:
    """The real text an example was cut from, whitespace-normalized."""
    source, key = meta["doc"].split("/", 1)
    if source == "wikipedia":
        return " ".join(wikipedia_summaries()[int(key)].split())
    return (Path(sysconfig.get_paths()["stdlib"]) / key).read_text(encoding="utf-8").expandtabs(4)


def test_same_seed_same_examples_and_example_i_ignores_n():
    first = list(render_examples(TextRenderConfig(), 8, seed=3))
    again = list(render_examples(TextRenderConfig(), 12, seed=3))[:8]
    other = list(render_examples(TextRenderConfig(), 8, seed=4))
    key = [(e.prompt, e.target, e.kind, e.meta, e.image.tobytes()) for e in first]
    assert key == [(e.prompt, e.target, e.kind, e.meta, e.image.tobytes()) for e in again]
    assert [e.target for e in first] != [e.target for e in other]


def test_test_split_draws_only_held_out_sources_and_train_none():
    # The rule: CRC32 of the source's key (article text, stdlib path, expression) modulo 10 == 0 is held out.
    summaries = wikipedia_summaries()
    for split in ("train", "test"):
        for example in render_examples(TextRenderConfig(**CLEAN), 40, seed=1, split=split):
            source, key = example.meta["doc"].split("/", 1)
            assert example.meta["split"] == split and example.meta["source"] == source
            text = summaries[int(key)] if source == "wikipedia" else key
            assert (zlib.crc32(text.encode("utf-8")) % 10 == 0) == (split == "test"), example.meta["doc"]


def test_every_kind_produced_with_a_nonempty_target_boxed_inside_an_rgb_canvas(noisy):
    config = TextRenderConfig()
    assert {e.kind for e in noisy} == set(KINDS)
    for example in noisy:
        assert example.image.mode == "RGB" and example.image.size == (config.image_size, config.image_size)
        assert example.target.strip() and len(example.target) <= config.max_chars
        x0, y0, x1, y1 = example.meta["box"]
        assert 0 <= x0 < x1 <= config.image_size and 0 <= y0 < y1 <= config.image_size, example.meta
        assert {"source", "font", "font_px", "split"} <= set(example.meta)


def test_clean_images_have_the_background_at_the_corners_and_ink_in_the_box():
    for example in render_examples(TextRenderConfig(**CLEAN), 24, seed=2):
        background = tuple(example.meta["background"])
        assert example.image.getpixel((0, 0)) == background
        assert example.image.getpixel((example.image.width - 1, example.image.height - 1)) == background
        colours = example.image.crop(example.meta["box"]).getcolors(maxcolors=1 << 16)
        assert any(colour != background for _, colour in colours), "no ink where the answer is said to be"


def test_a_clean_single_line_is_exactly_its_target_drawn():
    config = only("transcribe", **CLEAN)
    lines = [e for e in render_examples(config, 12, seed=5) if e.meta["layout"] == "line"]
    assert lines
    for example in lines:
        path = next(f for f in config.fonts if Path(f).stem == example.meta["font"])
        font = ImageFont.truetype(path, example.meta["font_px"])
        left, top, _, _ = font.getbbox(example.target)
        redrawn = Image.new("RGB", example.image.size, tuple(example.meta["background"]))
        origin = (example.meta["box"][0] - left, example.meta["box"][1] - top)
        ImageDraw.Draw(redrawn).text(origin, example.target, font=font, fill=tuple(example.meta["foreground"]))
        assert ImageChops.difference(redrawn, example.image).getbbox() is None, example.target


def test_transcriptions_are_real_wikipedia_text():
    for example in render_examples(only("transcribe"), 10, seed=6):
        assert example.target in source_text(example.meta)


def test_text_qa_answers_are_checkable():
    examples = list(render_examples(only("text_qa"), 30, seed=7))
    assert {e.meta["question"] for e in examples} == {"first_word", "marked_word", "line_count"}
    for example in examples:
        if example.meta["question"] == "line_count":
            assert example.target == str(example.meta["lines"])
        else:
            assert example.target.strip(".,;:!?\"'()[]") == example.target
            assert example.target in source_text(example.meta)


def test_code_targets_are_from_a_stdlib_line_the_prompt_names():
    for example in render_examples(only("code"), 12, seed=8):
        line = int(example.prompt.removeprefix("Transcribe line ").removesuffix("."))
        assert 1 <= line <= example.meta["lines"] and example.meta["source"] == "stdlib"
        assert any(example.target in source for source in source_text(example.meta).splitlines())


def test_math_targets_are_the_expressions_values():
    examples = list(render_examples(only("math"), 30, seed=9))
    assert any("x =" not in e.meta["expression"] for e in examples)
    for example in examples:
        assert int(example.target) == eval(example.meta["expression"])


def test_transcription_accuracy_on_a_hand_example():
    scores = transcription_accuracy(["hello  world ", "abc", "kitten"], ["hello world", "abd", "sitting"])
    assert scores["n"] == 3 and scores["exact_match"] == pytest.approx(1 / 3)
    assert scores["cer"] == pytest.approx((0 + 1 / 3 + 3 / 7) / 3)  # kitten -> sitting: 3 edits over 7 chars
    with pytest.raises(ValueError):
        transcription_accuracy(["a"], ["a", "b"])


def test_examples_survive_write_and_read(tmp_path, noisy):
    assert write_examples(tmp_path / "out", noisy[:4]) == 4
    back = list(read_examples(tmp_path / "out"))
    assert [(e.prompt, e.target, e.kind, e.meta) for e in back] == [(e.prompt, e.target, e.kind, e.meta)
                                                                     for e in noisy[:4]]


def test_without_font_files_pillows_font_is_used():
    examples = list(render_examples(TextRenderConfig(fonts=()), 8, seed=10))
    assert {e.meta["font"] for e in examples} == {"pil-default"}


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="unknown kinds"):
        TextRenderConfig(mix={"caption": 1.0})
    with pytest.raises(ValueError, match="split"):
        next(render_examples(TextRenderConfig(), 1, seed=0, split="validation"))

