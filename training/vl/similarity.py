"""The image-text similarity filter: InfiR-VL (arXiv 2502.11573) keeps the image-text pairs whose similarity is at
least 0.5. A step over `VLExample`s with a pluggable scorer:

- `ClipScorer`: a CLIP or SigLIP checkpoint by local path, the paper-scale scorer. SigLIP gives its own pair
  probability, sigmoid(exp(logit_scale) * cos + logit_bias), which the 0.5 threshold reads directly as "more likely
  a match than not". CLIP has no calibrated pair probability: its score is CLIPScore's (Hessel et al. 2021)
  w * max(cos, 0) with w = 1 by default, so in [0, 1]. Matching CLIP pairs typically reach a cosine of only
  0.25-0.35, so at w = 1 a threshold of 0.5 drops nearly everything: with CLIP, use CLIPScore's w = 2.5
  (`clip_weight`, scores clipped at 1; 0.5 is then a cosine of 0.2) or a lower threshold.
- `RenderedTextScorer`: a CPU-scale proxy for synthetic pairs whose text is drawn into the image (no pretrained CLIP
  is installable here). It scores how legible the rendering is, not what the text says: see its docstring.
- `SimilarityFilter`: keeps the pairs scoring >= threshold, writes the score to `meta["similarity"]`, and
  `report(out_dir)` writes `similarity.json` and `similarity_hist.png`.

`build_scorer("rendered" | PATH | None)` makes the scorer a recipe names. Heavy imports (torch, transformers,
matplotlib) wait until they are needed.
"""

from __future__ import annotations

import inspect
import io
import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
from PIL import Image, ImageFilter

from infir_edge.errors import InfirEdgeError
from infir_edge.files import atomic_write_bytes, atomic_write_text
from training.vl.examples import VLExample

THRESHOLD = 0.5  # InfiR-VL's image-text similarity threshold
RENDERED = "rendered"  # build_scorer's name for RenderedTextScorer
INK_HEIGHT = 0.75  # a line's ink height (caps and ascenders) per pixel of font size, DejaVu's
MODEL_TYPES = ("clip", "siglip")  # what ClipScorer loads (config.json's model_type)
REPORT_JSON = "similarity.json"
REPORT_PNG = "similarity_hist.png"
QUANTILES = {"min": 0.0, "p5": 0.05, "p10": 0.1, "p25": 0.25, "p50": 0.5, "p75": 0.75, "p90": 0.9, "p95": 0.95,
             "max": 1.0}


class VLDataError(InfirEdgeError, ValueError):
    """A VL data input that cannot be used: a scorer spec that names no CLIP/SigLIP checkpoint, a malformed box, a
    setting out of range. An `InfirEdgeError`, so a command prints one line and exits 2."""


class SimilarityScorer(Protocol):
    name: str

    def score(self, images: list[Image.Image], texts: list[str]) -> list[float]:
        """One score in [0, 1] per (image, text) pair, higher = the text fits the image better. A scorer whose
        `score` also takes `metas` (the examples' meta dicts) is given them by `SimilarityFilter`."""


# ---------------------------------------------------------------------------------------------------------- CLIP


def checkpoint_model_type(path: str | Path) -> str:
    """The model_type ("clip" or "siglip") of the checkpoint folder `path`; `VLDataError` when it is no such
    checkpoint. Reads config.json only (no transformers import)."""
    path = Path(path)
    if not path.exists():
        raise VLDataError(f"similarity model {path} does not exist")
    config = path / "config.json"
    if not path.is_dir() or not config.is_file():
        raise VLDataError(f"similarity model {path} is not a checkpoint folder (no config.json)")
    try:
        model_type = json.loads(config.read_text(encoding="utf-8")).get("model_type")
    except (ValueError, AttributeError):
        raise VLDataError(f"similarity model {path}: config.json is not a JSON object") from None
    if model_type not in MODEL_TYPES:
        raise VLDataError(f"similarity model {path} is a {model_type!r} checkpoint, "
                          f"not one of {', '.join(MODEL_TYPES)}")
    return model_type


class ClipScorer:
    """A CLIP or SigLIP checkpoint by local path (a Hugging Face folder: config.json, weights, tokenizer and
    preprocessor_config.json). SigLIP: the model's pair probability sigmoid(exp(logit_scale) * cos + logit_bias).
    CLIP: CLIPScore, min(1, clip_weight * max(cos, 0)). See the module docstring for why the two differ.

    The image processor is loaded slow (`use_fast=False`): the fast ones need torchvision, which is not installed;
    image processor and tokenizer are loaded separately so `use_fast` does not reach the tokenizer. SigLIP's text is
    padded to its full length without an attention mask, as SigLIP was trained; CLIP's is padded to the longest.
    The model loads on the first `score`."""

    def __init__(self, path: str | Path, batch_size: int = 16, device: str = "cpu", clip_weight: float = 1.0) -> None:
        if batch_size < 1:
            raise VLDataError(f"similarity batch_size must be at least 1, not {batch_size}")
        if clip_weight <= 0:
            raise VLDataError(f"clip_weight must be positive, not {clip_weight}")
        self.path = Path(path)
        self.model_type = checkpoint_model_type(self.path)
        self.batch_size = batch_size
        self.device = device
        self.clip_weight = clip_weight
        self.name = f"{self.model_type}:{self.path.name}"
        self._model = None
        self._image_processor = None
        self._tokenizer = None

    def _load(self) -> None:
        from transformers import AutoImageProcessor, AutoModel, AutoTokenizer

        self._model = AutoModel.from_pretrained(self.path).to(self.device).eval()
        self._image_processor = AutoImageProcessor.from_pretrained(self.path, use_fast=False)
        self._tokenizer = AutoTokenizer.from_pretrained(self.path)

    def score(self, images: list[Image.Image], texts: list[str]) -> list[float]:
        if len(images) != len(texts):
            raise VLDataError(f"{len(images)} images but {len(texts)} texts")
        if self._model is None:
            self._load()
        scores: list[float] = []
        for start in range(0, len(images), self.batch_size):
            end = start + self.batch_size
            scores.extend(self._score_batch(images[start:end], texts[start:end]))
        return scores

    def _score_batch(self, images: list[Image.Image], texts: list[str]) -> list[float]:
        import torch

        model = self._model
        max_length = model.config.text_config.max_position_embeddings
        siglip = self.model_type == "siglip"
        tokens = self._tokenizer(texts, padding="max_length" if siglip else "longest", truncation=True,
                                 max_length=max_length, return_tensors="pt")
        text_inputs = {"input_ids": tokens["input_ids"].to(self.device)}
        if not siglip and "attention_mask" in tokens:
            text_inputs["attention_mask"] = tokens["attention_mask"].to(self.device)
        pixels = self._image_processor([image.convert("RGB") for image in images], return_tensors="pt")
        with torch.inference_mode():
            image_embeds = model.get_image_features(pixel_values=pixels["pixel_values"].to(self.device))
            text_embeds = model.get_text_features(**text_inputs)
            image_embeds = torch.nn.functional.normalize(image_embeds.float(), dim=-1)
            text_embeds = torch.nn.functional.normalize(text_embeds.float(), dim=-1)
            cos = (image_embeds * text_embeds).sum(-1)
            if siglip:
                values = torch.sigmoid(cos * model.logit_scale.float().exp() + model.logit_bias.float())
            else:
                values = (cos * self.clip_weight).clamp(0.0, 1.0)
        return [float(v) for v in values.cpu()]


# ------------------------------------------------------------------------------------------------ rendered text


@dataclass(frozen=True)
class Legibility:
    """`RenderedTextScorer.measure`'s findings, in the units of the image's main colour axis (0-255 per channel;
    up to 441 for black on white, the RGB distance)."""

    noise: float  # the noise's standard deviation, estimated over the whole image
    contrast: float  # Otsu's between-class contrast of the (median-filtered) box
    gradient: float  # the 99th percentile of the box's gradient magnitude, per pixel
    stroke: float  # the stroke width assumed, pixels
    cnr: float  # effective contrast / max(noise, min_noise)
    score: float


class RenderedTextScorer:
    """Legibility of text drawn into an image, as a stand-in for a CLIP score on synthetic rendered-text pairs.

    A PROXY, NOT A SIMILARITY: it never reads the text (only its number of lines), it measures whether something
    text-like stands out of the noise in the text's box (meta["box"], (left, top, right, bottom) pixels as PIL's
    textbbox gives; the whole image when absent). It only applies to pairs whose text is known to be rendered in the
    image, where a CLIP score would fall with the rendering's legibility; for captions, screens or photos it means
    nothing. Paper-scale runs use `ClipScorer` with a CLIP/SigLIP checkpoint by path.

    The measure is a contrast-to-noise ratio (CNR), per pixel:
    - the image is projected on its box's first principal colour axis (so red-on-green text has contrast; units are
      RGB distance: black on white is 441, per-channel noise of deviation s keeps deviation s);
    - noise: Immerkaer's (1996) Laplacian-difference residual over the whole image, its median absolute deviation
      turned into a deviation (robust to the text's edges), floored at `min_noise`: a noise-free image is read as
      having that much, which sets the faintest contrast that passes (about `midpoint` * `min_noise`);
    - contrast: the gap between Otsu's two classes (ink, background) of the box after a 3x3 median filter;
    - blur: a stroke of width s blurred to edges wider than s keeps only part of its contrast, about the steepest
      gradient (99th percentile) times s, so the effective contrast is min(contrast, gradient * s), with
      s = `stroke_fraction` of a line's ink height (a DejaVu Sans stroke is ~8% of it): 0.75 x meta["font_px"]
      when the example has it (text_render's do), else the box's height over the text's number of lines;
    - score = 1 / (1 + (midpoint / CNR) ** slope), a logistic in log CNR: 0.5 at CNR = `midpoint`.

    The defaults are calibrated by eye on "Hello world 42" in DejaVu Sans at 12, 20 and 40 px, black on white, with
    per-channel Gaussian noise and Gaussian blur (PIL radius), so that 0.5 falls where the text stops being readable:
    clean 1.00; noise deviation 100: 0.65 / 0.87 / 0.93 (12 / 20 / 40 px), 150: 0.33 / 0.52 / 0.68, 250: 0.16-0.25,
    400: ~0.1; blur radius 0.1 x font size: 0.92-0.93, 0.15 x: 0.68-0.70, 0.2 x: 0.39-0.44, 0.3 x: 0.12; grey text
    10 levels from the background: 0.02-0.23, 25 levels: 0.30 / 0.72 / 0.82; pure noise 0.05; blank 0. Small text
    is judged more strictly than a reader would (per pixel, the reader integrates over a stroke). Without font_px,
    a box over several lines with a one-line text (a question's answer), or no box at all, gives a stroke estimate
    that is too wide, and blur is then forgiven. The box must be in pixels (GUI data's 0-1000 boxes are not).
    """

    name = RENDERED

    def __init__(self, min_noise: float = 12.0, midpoint: float = 2.0, slope: float = 3.0,
                 stroke_fraction: float = 0.08) -> None:
        if min(min_noise, midpoint, slope, stroke_fraction) <= 0:
            raise VLDataError("RenderedTextScorer: min_noise, midpoint, slope and stroke_fraction must be positive")
        self.min_noise = min_noise
        self.midpoint = midpoint
        self.slope = slope
        self.stroke_fraction = stroke_fraction

    def score(self, images: list[Image.Image], texts: list[str], metas: list[dict] | None = None) -> list[float]:
        if len(images) != len(texts) or (metas is not None and len(metas) != len(images)):
            raise VLDataError(f"{len(images)} images, {len(texts)} texts and "
                              f"{'no' if metas is None else len(metas)} metas do not pair up")
        metas = metas if metas is not None else [{}] * len(images)
        return [self.measure(image, text, (meta or {}).get("box"), (meta or {}).get("font_px")).score
                for image, text, meta in zip(images, texts, metas, strict=True)]

    def measure(self, image: Image.Image, text: str, box=None, font_px: float | None = None) -> Legibility:
        pixels = np.asarray(image.convert("RGB"), dtype=np.float64)
        left, top, right, bottom = _box(box, pixels.shape[1], pixels.shape[0])
        crop = pixels[top:bottom, left:right].reshape(-1, 3)
        mean = crop.mean(axis=0)
        _, vectors = np.linalg.eigh(np.cov((crop - mean).T) if len(crop) > 1 else np.eye(3))
        plane = (pixels - mean) @ vectors[:, -1]  # the main colour axis: ink against background
        noise = _noise_sigma(plane)
        region = plane[top:bottom, left:right]
        filtered = Image.fromarray((region - region.min()).astype(np.float32)).filter(ImageFilter.MedianFilter(3))
        denoised = np.asarray(filtered, dtype=np.float64)
        contrast = _otsu_contrast(denoised)
        gradient = float(np.percentile(np.hypot(*np.gradient(denoised)), 99)) if min(denoised.shape) > 1 else 0.0
        line_ink = INK_HEIGHT * font_px if font_px else (bottom - top) / (text.count("\n") + 1 if text else 1)
        stroke = self.stroke_fraction * line_ink
        effective = min(contrast, gradient * stroke)
        cnr = effective / max(noise, self.min_noise)
        score = 0.0 if cnr <= 0 else 1.0 / (1.0 + (self.midpoint / cnr) ** self.slope)
        return Legibility(noise=noise, contrast=contrast, gradient=gradient, stroke=stroke, cnr=cnr, score=score)


def _box(box, width: int, height: int) -> tuple[int, int, int, int]:
    """`box` as integer (left, top, right, bottom) clipped to the image; the whole image when None."""
    if box is None:
        return 0, 0, width, height
    try:
        left, top, right, bottom = (float(v) for v in box)
    except (TypeError, ValueError):
        raise VLDataError(f"meta box must be (left, top, right, bottom) pixels, not {box!r}") from None
    left, top = max(0, math.floor(left)), max(0, math.floor(top))
    right, bottom = min(width, math.ceil(right)), min(height, math.ceil(bottom))
    if right - left < 1 or bottom - top < 1:
        raise VLDataError(f"meta box {box!r} holds no pixel of the {width}x{height} image")
    return left, top, right, bottom


def _noise_sigma(plane: np.ndarray) -> float:
    """Immerkaer's noise estimate with a robust scale: the mask [[1,-2,1],[-2,4,-2],[1,-2,1]] cancels smooth
    content and multiplies white noise's deviation by 6; the MAD ignores the minority of pixels on edges."""
    if min(plane.shape) < 3:
        return 0.0
    h, w = plane.shape
    mask = ((1, -2, 1), (-2, 4, -2), (1, -2, 1))
    residual = sum(mask[i][j] * plane[i:h - 2 + i, j:w - 2 + j] for i in range(3) for j in range(3))
    mad = float(np.median(np.abs(residual - np.median(residual))))
    return mad / 0.6745 / 6.0


def _otsu_contrast(values: np.ndarray) -> float:
    """The gap between the means of Otsu's two classes of `values` (0 when they are all equal)."""
    values = values.ravel()
    if values.size < 2 or values.max() - values.min() <= 1e-9:
        return 0.0
    counts, edges = np.histogram(values, bins=256)
    centers = (edges[:-1] + edges[1:]) / 2
    below = np.cumsum(counts)[:-1]
    above = values.size - below
    sum_below = np.cumsum(counts * centers)[:-1]
    sum_above = float((counts * centers).sum()) - sum_below
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_below, mean_above = sum_below / below, sum_above / above
        between = np.where((below > 0) & (above > 0), below * above * (mean_above - mean_below) ** 2, -1.0)
    best = int(np.argmax(between))
    return float(mean_above[best] - mean_below[best]) if between[best] > 0 else 0.0


# ------------------------------------------------------------------------------------------------------ filter


class SimilarityFilter:
    """Keeps the examples whose image-text score is >= `threshold` (InfiR-VL: 0.5), in order, scoring
    `batch_size` at a time; a kept example's meta["similarity"] holds its score. The text scored is the example's
    `text_field` ("target": the caption or transcription). Counts and every score accumulate over `run`s for
    `report`."""

    name = "image-text similarity"

    def __init__(self, scorer: SimilarityScorer, threshold: float = THRESHOLD, batch_size: int = 32,
                 text_field: str = "target") -> None:
        if not 0.0 <= threshold <= 1.0:
            raise VLDataError(f"similarity threshold must be in [0, 1], not {threshold}")
        if batch_size < 1:
            raise VLDataError(f"similarity batch_size must be at least 1, not {batch_size}")
        if text_field not in ("target", "prompt"):
            raise VLDataError(f"similarity text_field must be 'target' or 'prompt', not {text_field!r}")
        self.scorer = scorer
        self.threshold = threshold
        self.batch_size = batch_size
        self.text_field = text_field
        self._takes_metas = _accepts(scorer.score, "metas")
        self.kept = 0
        self.dropped = 0
        self.scores: list[float] = []

    def run(self, examples: Iterable[VLExample]) -> Iterator[VLExample]:
        batch: list[VLExample] = []
        for example in examples:
            batch.append(example)
            if len(batch) == self.batch_size:
                yield from self._filter(batch)
                batch = []
        if batch:
            yield from self._filter(batch)

    def _filter(self, batch: list[VLExample]) -> list[VLExample]:
        images = [example.image for example in batch]
        texts = [getattr(example, self.text_field) for example in batch]
        if self._takes_metas:
            scores = self.scorer.score(images, texts, metas=[example.meta for example in batch])
        else:
            scores = self.scorer.score(images, texts)
        scores = [float(s) for s in scores]
        if len(scores) != len(batch):
            raise VLDataError(f"scorer {self.scorer.name} gave {len(scores)} scores for {len(batch)} pairs")
        if not all(0.0 <= s <= 1.0 for s in scores):  # NaN fails too
            raise VLDataError(f"scorer {self.scorer.name} gave scores outside [0, 1]: {scores}")
        kept = []
        for example, score in zip(batch, scores, strict=True):
            self.scores.append(score)
            if score >= self.threshold:
                example.meta["similarity"] = score
                kept.append(example)
        self.kept += len(kept)
        self.dropped += len(batch) - len(kept)
        return kept

    def stats(self) -> dict:
        total = self.kept + self.dropped
        scores = np.asarray(self.scores, dtype=np.float64)
        return {
            "scorer": self.scorer.name,
            "threshold": self.threshold,
            "total": total,
            "kept": self.kept,
            "dropped": self.dropped,
            "kept_fraction": round(self.kept / total, 4) if total else None,
            "mean": round(float(scores.mean()), 4) if total else None,
            "quantiles": {key: round(float(np.quantile(scores, q)), 4) if total else None
                          for key, q in QUANTILES.items()},
        }

    def report(self, out_dir: str | Path) -> dict:
        """Write `similarity.json` (the stats) and `similarity_hist.png` (the scores' histogram, the threshold
        dashed) into `out_dir`, each atomically; returns the stats."""
        out_dir = Path(out_dir)
        stats = self.stats()
        atomic_write_bytes(out_dir / REPORT_PNG, _histogram_png(self.scores, self.threshold, stats))
        atomic_write_text(out_dir / REPORT_JSON, json.dumps(stats, indent=2) + "\n")
        return stats


def _accepts(function, parameter: str) -> bool:
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False
    return parameter in parameters or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())


def _histogram_png(scores: list[float], threshold: float, stats: dict) -> bytes:
    from matplotlib.figure import Figure  # the Figure API: no pyplot, no global state, no display backend

    figure = Figure(figsize=(6, 3.5), layout="constrained")
    axes = figure.subplots()
    axes.hist(scores, bins=np.linspace(0.0, 1.0, 51), color="tab:blue")
    axes.axvline(threshold, color="tab:red", linestyle="--", label=f"threshold {threshold:g}")
    axes.set_xlim(0.0, 1.0)
    axes.set_xlabel("image-text similarity")
    axes.set_ylabel("pairs")
    axes.set_title(f"{stats['scorer']}: kept {stats['kept']} of {stats['total']}")
    axes.legend(loc="upper left")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


# ----------------------------------------------------------------------------------------------------- factory


def build_scorer(spec: str | Path | None, *, batch_size: int = 16, device: str = "cpu",
                 clip_weight: float = 1.0) -> SimilarityScorer | None:
    """The scorer a recipe names: None -> None (no similarity filter), "rendered" -> `RenderedTextScorer`, a path
    -> `ClipScorer` (`VLDataError` when it is not a CLIP/SigLIP checkpoint folder)."""
    if spec is None:
        return None
    if str(spec) == RENDERED:
        return RenderedTextScorer()
    if not str(spec).strip():
        raise VLDataError(f"similarity scorer: expected {RENDERED!r} or a CLIP/SigLIP checkpoint path, not ''")
    return ClipScorer(Path(spec).expanduser(), batch_size=batch_size, device=device, clip_weight=clip_weight)
