"""The image-text similarity filter: its threshold and report, the rendered-text legibility proxy, and the CLIP/SigLIP
scorer on tiny random-init checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from training.vl.examples import VLExample, read_examples, write_examples
from training.vl.similarity import (
    ClipScorer,
    RenderedTextScorer,
    SimilarityFilter,
    VLDataError,
    build_scorer,
)

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
TEXT = "Hello world 42"
WORDS = ["hello", "world", "a", "cat", "on", "the", "mat", "42"]


class ScoreFromText:
    """A fake scorer: the text is the score."""

    name = "fake"

    def __init__(self) -> None:
        self.batches: list[int] = []

    def score(self, images, texts):
        self.batches.append(len(texts))
        return [float(t) for t in texts]


def example(target: str, meta: dict | None = None) -> VLExample:
    return VLExample(Image.new("RGB", (8, 8), "white"), "What does it say?", target, "transcribe", meta or {})


def render(*, size: int = 20, ink: tuple[int, int, int] = (0, 0, 0)) -> tuple[Image.Image, list[int]]:
    image = Image.new("RGB", (40 + size * 10, 30 + size * 2), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, size)
    draw.text((10, 10), TEXT, fill=ink, font=font)
    return image, list(draw.textbbox((10, 10), TEXT, font=font))


def noised(image: Image.Image, sigma: float) -> Image.Image:
    pixels = np.asarray(image, dtype=np.float64)
    noisy = pixels + np.random.default_rng(0).normal(0.0, sigma, pixels.shape)
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


# ------------------------------------------------------------------------------------------------------ filter


def test_filter_keeps_scores_at_or_above_the_threshold_in_order():
    step = SimilarityFilter(ScoreFromText(), threshold=0.5)
    kept = list(step.run(example(t) for t in ["0.2", "0.5", "0.9", "0.49", "0.7"]))
    assert [e.target for e in kept] == ["0.5", "0.9", "0.7"]
    assert [e.meta["similarity"] for e in kept] == [0.5, 0.9, 0.7]


def test_filter_scores_in_batches_of_batch_size():
    scorer = ScoreFromText()
    list(SimilarityFilter(scorer, batch_size=2).run(example("0.9") for _ in range(5)))
    assert scorer.batches == [2, 2, 1]


def test_filter_passes_metas_to_a_scorer_that_takes_them():
    class MetaScorer:
        name = "meta"

        def score(self, images, texts, metas=None):
            return [m["given"] for m in metas]

    kept = list(SimilarityFilter(MetaScorer()).run([example("x", {"given": 0.8}), example("y", {"given": 0.1})]))
    assert [e.target for e in kept] == ["x"]


def test_filter_rejects_a_scorer_giving_scores_outside_0_1():
    with pytest.raises(VLDataError, match="outside"):
        list(SimilarityFilter(ScoreFromText()).run([example("1.5")]))


def test_filter_rejects_a_threshold_outside_0_1():
    with pytest.raises(VLDataError, match="threshold"):
        SimilarityFilter(ScoreFromText(), threshold=1.5)


def test_report_writes_stats_json_and_histogram_png(tmp_path):
    step = SimilarityFilter(ScoreFromText(), threshold=0.5)
    list(step.run(example(t) for t in ["0.1", "0.3", "0.6", "0.8", "1.0"]))
    returned = step.report(tmp_path / "report")
    stats = json.loads((tmp_path / "report" / "similarity.json").read_text())
    assert stats == returned
    counts = (stats["scorer"], stats["threshold"], stats["kept"], stats["dropped"], stats["total"])
    assert counts == ("fake", 0.5, 3, 2, 5)
    assert stats["quantiles"]["min"] == 0.1 and stats["quantiles"]["p50"] == 0.6 and stats["quantiles"]["max"] == 1.0
    assert (tmp_path / "report" / "similarity_hist.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in (tmp_path / "report").iterdir()) == ["similarity.json", "similarity_hist.png"]


def test_report_of_an_empty_run_has_no_quantiles(tmp_path):
    step = SimilarityFilter(ScoreFromText())
    list(step.run([]))
    stats = step.report(tmp_path)
    assert (stats["kept"], stats["dropped"], stats["quantiles"]["p50"]) == (0, 0, None)


def test_kept_examples_keep_their_score_through_write_and_read(tmp_path):
    clean, box = render()
    examples = [VLExample(clean, "Read it.", TEXT, "transcribe", {"box": box}),
                VLExample(noised(clean, 400), "Read it.", TEXT, "transcribe", {"box": box})]
    write_examples(tmp_path / "out", SimilarityFilter(RenderedTextScorer()).run(examples))
    [kept] = list(read_examples(tmp_path / "out"))
    assert kept.meta["box"] == box and kept.meta["similarity"] > 0.9


# ----------------------------------------------------------------------------------------------- rendered text


@pytest.mark.parametrize("degrade", [
    pytest.param(lambda image: noised(image, 250), id="heavy-noise"),
    pytest.param(lambda image: image.filter(ImageFilter.GaussianBlur(6)), id="heavy-blur"),
    pytest.param(lambda image: render(ink=(245, 245, 245))[0], id="low-contrast"),
])
def test_rendered_scorer_puts_a_clean_render_above_and_a_degraded_one_below_half(degrade):
    clean, box = render()
    scores = RenderedTextScorer().score([clean, degrade(clean)], [TEXT, TEXT], metas=[{"box": box}, {"box": box}])
    assert scores[0] > 0.5 > scores[1]


def test_rendered_scorer_reads_the_whole_image_without_a_box():
    clean, _ = render()
    assert RenderedTextScorer().score([clean, noised(clean, 250)], [TEXT, TEXT]) == pytest.approx(
        RenderedTextScorer().score([clean, noised(clean, 250)], [TEXT, TEXT], metas=[{}, {}]))
    assert RenderedTextScorer().score([clean], [TEXT])[0] > 0.5


def test_rendered_scorer_measures_inside_the_box():
    clean, _ = render()
    blank_corner = [0, clean.height - 8, 40, clean.height]
    assert RenderedTextScorer().score([clean], [TEXT], metas=[{"box": blank_corner}]) == [0.0]


def test_rendered_scorer_takes_the_stroke_from_font_px_over_a_many_line_box():
    image = Image.new("RGB", (360, 200), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, 20)
    paragraph = "the cat sat on the mat\nand the dog sat on\nthe log by the door"
    box = list(draw.multiline_textbbox((10, 10), paragraph, font=font, spacing=8))
    draw.multiline_text((10, 10), paragraph, font=font, fill="black", spacing=8)
    blurred = [image.filter(ImageFilter.GaussianBlur(4))] * 2
    # the answer "3" (its line count) is one line, its box three: only font_px gives the stroke's true width
    by_box, by_font = RenderedTextScorer().score(blurred, ["3", "3"], metas=[{"box": box}, {"box": box, "font_px": 20}])
    assert by_box > 0.5 > by_font


def test_rendered_scorer_rejects_a_box_outside_the_image():
    clean, _ = render()
    with pytest.raises(VLDataError, match="box"):
        RenderedTextScorer().score([clean], [TEXT], metas=[{"box": [1000, 1000, 1010, 1010]}])


# --------------------------------------------------------------------------------------------------- CLIP / SigLIP


def write_tiny_tokenizer(path: Path) -> int:
    """A word-level tokenizer ("<s> words </s>"), saved as a fast tokenizer; returns the id of "</s>"."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {token: i for i, token in enumerate(["<pad>", "<unk>", "<s>", "</s>", *WORDS])}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", vocab["<s>"]), ("</s>", vocab["</s>"])])
    PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token="<pad>", unk_token="<unk>", bos_token="<s>",
                            eos_token="</s>", model_max_length=16,
                            model_input_names=["input_ids", "attention_mask"]).save_pretrained(path)
    return vocab["</s>"]


def tiny_configs(vocab_size: int, eos: int) -> tuple[dict, dict]:
    text = {"vocab_size": vocab_size, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
            "num_attention_heads": 2, "max_position_embeddings": 16, "pad_token_id": 0, "bos_token_id": 2,
            "eos_token_id": eos}
    vision = {"image_size": 32, "patch_size": 8, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
              "num_attention_heads": 2}
    return text, vision


@pytest.fixture(scope="module", params=["clip", "siglip"])
def tiny_dual_encoder(request, tmp_path_factory) -> tuple[str, Path]:
    import torch
    from transformers import (
        CLIPConfig,
        CLIPImageProcessor,
        CLIPModel,
        SiglipConfig,
        SiglipImageProcessor,
        SiglipModel,
    )

    path = tmp_path_factory.mktemp(request.param)
    eos = write_tiny_tokenizer(path)
    text, vision = tiny_configs(4 + len(WORDS), eos)
    torch.manual_seed(2)  # a draw whose random CLIP cosines are positive: CLIP's scores are not all clipped to 0
    if request.param == "clip":
        CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=16)).save_pretrained(path)
        CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(path)
    else:
        SiglipModel(SiglipConfig(text_config=text, vision_config=vision)).save_pretrained(path)
        SiglipImageProcessor(size={"height": 32, "width": 32}).save_pretrained(path)
    return request.param, path


def pairs() -> tuple[list[Image.Image], list[str]]:
    rng = np.random.default_rng(1)
    images = [Image.fromarray(rng.integers(0, 256, (24 + 8 * i, 40, 3), dtype=np.uint8)) for i in range(5)]
    return images, ["hello world", "a cat on the mat", "42", "unknown words here", "the the the the the the"]


def test_clip_scorer_scores_are_in_0_1_and_deterministic(tiny_dual_encoder):
    _, path = tiny_dual_encoder
    images, texts = pairs()
    first = ClipScorer(path, batch_size=2).score(images, texts)
    again = ClipScorer(path, batch_size=16).score(images, texts)
    assert len(first) == 5 and all(0.0 <= s <= 1.0 for s in first)
    assert len(set(first)) == 5  # not saturated at a bound
    assert again == pytest.approx(first, abs=1e-5)


def test_build_scorer_detects_the_model_type(tiny_dual_encoder):
    model_type, path = tiny_dual_encoder
    scorer = build_scorer(str(path))
    assert isinstance(scorer, ClipScorer) and scorer.model_type == model_type


# ------------------------------------------------------------------------------------------------- build_scorer


def test_build_scorer_names():
    assert isinstance(build_scorer("rendered"), RenderedTextScorer)
    assert build_scorer(None) is None


@pytest.mark.parametrize("setup, message", [
    pytest.param(lambda path: None, "does not exist", id="missing"),
    pytest.param(lambda path: path.mkdir(), "no config.json", id="no-config"),
    pytest.param(lambda path: (path.mkdir(), (path / "config.json").write_text('{"model_type": "llama"}')),
                 "'llama' checkpoint", id="not-clip"),
])
def test_build_scorer_rejects_a_path_that_is_no_clip_checkpoint(tmp_path, setup, message):
    setup(tmp_path / "model")
    with pytest.raises(VLDataError, match=message):
        build_scorer(str(tmp_path / "model"))
