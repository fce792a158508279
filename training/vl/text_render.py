"""Stage 2 of InfiR-VL training, text rendering: real text drawn into images with varied fonts, sizes, layouts,
colours and noise, each paired with its transcription or a question about it (Pix2Struct / nanoVLM-style OCR data).

Kinds: "transcribe" (a line of a Wikipedia summary, alone or highlighted in a paragraph), "text_qa" (a paragraph and an
exactly checkable question: its first word, the underlined/boxed word, its line count), "code" (a few lines of the
standard library's source in monospace; "Transcribe line k.") and "math" (a generated arithmetic expression; the
target is its value). The target is exactly what the image shows: text is measured before drawing and wrapped or cut to
fit, and `meta["box"]` is the answer's ink box in pixels. `split="test"` draws only from held-out sources (CRC32 of
the source text modulo 10 == 0), so the evaluation is unseen text.
"""

from __future__ import annotations

import math
import random
import sysconfig
import textwrap
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from io import BytesIO
from itertools import takewhile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from infir_edge.corpora import stdlib_source_files, wikipedia_summaries
from training.vl.examples import VLExample

KINDS = ("transcribe", "text_qa", "code", "math")
SPLITS = ("train", "test")
DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
DEJAVU_FACES = ("DejaVuSans", "DejaVuSans-Bold", "DejaVuSerif", "DejaVuSerif-Bold", "DejaVuSansMono",
                "DejaVuSansMono-Bold")
DEFAULT_FONT = "pil-default"  # Pillow's bundled FreeType font, used when no font file is configured
HIGHLIGHTS = ((255, 230, 40), (80, 220, 255), (120, 240, 120), (255, 140, 200))  # marker-pen colours
MARKS = ((220, 30, 30), (30, 90, 230), (20, 160, 60))  # underline / box outline colours
MARK_PAD = 3  # px between a word's ink and its box outline; highlights pad the same
PUNCTUATION = ".,;:!?\"'()[]"  # stripped from a token's ends to make it a word


def default_fonts() -> tuple[str, ...]:
    """The DejaVu sans/serif/mono regular and bold faces that are installed (none: Pillow's own font is used)."""
    return tuple(str(path) for face in DEJAVU_FACES if (path := DEJAVU / f"{face}.ttf").is_file())


@dataclass
class TextRenderConfig:
    image_size: int = 384  # square canvas side in px: what the tiny model's processor sees
    fonts: tuple[str, ...] = field(default_factory=default_fonts)  # TrueType paths; "Mono" in a name marks code fonts
    font_px: tuple[int, int] = (18, 34)  # at 384 px, still legible after the model's resize
    code_font_px: tuple[int, int] = (16, 26)  # smaller: a code line is long and cut where it leaves the canvas
    max_chars: int = 60  # longest transcription target: a 135M model learns short targets on CPU
    min_chars: int = 10  # a single-line transcription aims for min_chars..max_chars characters
    paragraph_lines: tuple[int, int] = (2, 6)
    code_lines: tuple[int, int] = (3, 8)
    line_spacing: float = 1.3  # line pitch / font line height: room for highlights and word boxes between lines
    margin: int = 24  # px of canvas edge kept free; raised automatically to cover the largest rotation
    light_share: float = 0.7  # dark text on a light background; the rest is light on dark
    noise_p: float = 0.25  # probability of each degradation (rotation, blur, pixel noise, JPEG), independently
    rotate_deg: float = 3.0  # rotation drawn from ±rotate_deg (scanned / photographed pages)
    blur_radius: tuple[float, float] = (0.3, 1.0)  # gaussian blur radius in px
    noise_sigma: float = 8.0  # std of gaussian pixel noise, in 0-255 units
    jpeg_quality: tuple[int, int] = (35, 90)
    mix: dict[str, float] = field(default_factory=lambda: {"transcribe": 0.35, "text_qa": 0.25, "code": 0.2,
                                                           "math": 0.2})

    def __post_init__(self) -> None:
        if unknown := set(self.mix) - set(KINDS):
            raise ValueError(f"unknown kinds in mix: {sorted(unknown)}; known: {KINDS}")
        if not any(weight > 0 for weight in self.mix.values()) or not 0 <= self.noise_p <= 1:
            raise ValueError("mix needs a positive weight and noise_p must lie in [0, 1]")
        for low, high in (self.font_px, self.code_font_px):
            if not 0 < low <= high or 8 * high > self.image_size - 2 * self.margin:
                raise ValueError(f"font px range ({low}, {high}) is empty or too large for {self.image_size} px")
        if not 0 < self.min_chars <= self.max_chars:
            raise ValueError("need 0 < min_chars <= max_chars")


def render_examples(config: TextRenderConfig, n: int, *, seed: int, split: str = "train") -> Iterator[VLExample]:
    """`n` examples, the same for the same (config, seed, split); example i depends on nothing but i."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, not {split!r}")
    kinds = [kind for kind in KINDS if config.mix.get(kind, 0) > 0]
    weights = [config.mix[kind] for kind in kinds]
    for i in range(n):
        rng = random.Random(f"text_render/{seed}/{split}/{i}")
        kind = rng.choices(kinds, weights)[0]
        yield _RENDERERS[kind](config, rng, split)


def transcription_accuracy(predictions: list[str], targets: list[str]) -> dict:
    """Exact-match rate after whitespace normalization and mean character error rate (edit distance / target length;
    above 1 when a prediction is much longer than its target)."""
    if len(predictions) != len(targets) or not targets:
        raise ValueError(f"need as many predictions as targets, at least one ({len(predictions)} vs {len(targets)})")
    pairs = [(" ".join(p.split()), " ".join(t.split())) for p, t in zip(predictions, targets, strict=True)]
    exact = sum(p == t for p, t in pairs) / len(pairs)
    cer = sum(_levenshtein(p, t) / max(1, len(t)) for p, t in pairs) / len(pairs)
    return {"n": len(pairs), "exact_match": exact, "cer": cer}


def _levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


# Sources, split by a stable hash of each source's text (a Wikipedia article, a stdlib path, a math expression).


def _split_of(key: str) -> str:
    return "test" if zlib.crc32(key.encode("utf-8")) % 10 == 0 else "train"


@lru_cache(maxsize=2)
def _wiki_pool(split: str) -> tuple[tuple[int, str], ...]:
    return _nonempty(tuple((i, text) for i, text in enumerate(wikipedia_summaries()) if _split_of(text) == split))


@lru_cache(maxsize=2)
def _code_pool(split: str) -> tuple[tuple[str, Path], ...]:
    """(path relative to the stdlib, path): the relative path is the hash key, the same on every machine."""
    root = Path(sysconfig.get_paths()["stdlib"])
    named = ((path.relative_to(root).as_posix(), path) for path in stdlib_source_files())
    return _nonempty(tuple((name, path) for name, path in named if _split_of(name) == split))


def _nonempty(pool: tuple) -> tuple:
    if not pool:
        raise ValueError("a text-render source is empty: is its corpus installed?")
    return pool


@lru_cache(maxsize=64)
def _code_lines(path: Path) -> tuple[str, ...]:
    return tuple(path.read_text(encoding="utf-8", errors="replace").expandtabs(4).splitlines())


def _printable(text: str) -> bool:
    """Plain ASCII only: every font has those glyphs, so no character is drawn as a missing-glyph box."""
    return all(32 <= ord(c) < 127 for c in text)


def _wiki_words(rng: random.Random, split: str, count: int, min_words: int) -> tuple[str, list[str]]:
    """Up to `count` consecutive printable words of one article, from a random word on."""
    pool = _wiki_pool(split)
    while True:
        index, text = rng.choice(pool)
        words = text.split()
        start = rng.randrange(len(words))
        if len(run := list(takewhile(_printable, words[start : start + count]))) >= min_words:
            return f"wikipedia/{index}", run


# Drawing.


@dataclass
class _Page:
    image: Image.Image
    draw: ImageDraw.ImageDraw
    font: ImageFont.FreeTypeFont
    font_name: str
    font_px: int
    bg: tuple[int, ...]
    fg: tuple[int, ...]
    margin: int
    height: int  # px of one line's ink band (ascent + descent)
    pitch: int  # px from one line's top to the next's
    width: int  # px available to a line between the margins


@lru_cache(maxsize=256)
def _font(path: str, px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, px) if path else ImageFont.load_default(size=px)


def _mix(a: tuple[int, ...], b: tuple[int, ...], share: float) -> tuple[int, ...]:
    return tuple(round(x + (y - x) * share) for x, y in zip(a, b, strict=True))


def _page(config: TextRenderConfig, rng: random.Random, *, code: bool = False) -> _Page:
    fonts = list(config.fonts) or [""]
    if code and (monospace := [f for f in fonts if "Mono" in Path(f).name]):
        fonts = monospace
    path, px = rng.choice(fonts), rng.randint(*(config.code_font_px if code else config.font_px))
    font = _font(path, px)
    if rng.random() < config.light_share:
        bg, fg = tuple(rng.randint(205, 255) for _ in "rgb"), tuple(rng.randint(0, 70) for _ in "rgb")
    else:
        bg, fg = tuple(rng.randint(0, 50) for _ in "rgb"), tuple(rng.randint(190, 255) for _ in "rgb")
    # Rotation moves a point at the half-diagonal by about r * angle: keep all ink at least that far from the edge.
    margin = max(config.margin, math.ceil(config.image_size / math.sqrt(2) * math.radians(config.rotate_deg)) + 4)
    image = Image.new("RGB", (config.image_size, config.image_size), bg)
    height = sum(font.getmetrics())
    return _Page(image, ImageDraw.Draw(image), font, Path(path).stem if path else DEFAULT_FONT, px, bg, fg, margin,
                 height, round(height * config.line_spacing), config.image_size - 2 * margin)


def _fit_lines(page: _Page, wanted: int) -> int:
    return max(1, min(wanted, (page.image.height - 2 * page.margin - page.height) // page.pitch + 1))


def _wrap(words: list[str], font: ImageFont.FreeTypeFont, width: float, max_chars: int) -> list[str]:
    """Greedy word wrap; stops at a word that fits no line, so the lines returned are exactly what gets drawn."""
    lines, line = [], ""
    for word in words:
        candidate = f"{line} {word}" if line else word
        if font.getlength(candidate) <= width and len(candidate) <= max_chars:
            line = candidate
            continue
        if line:
            lines.append(line)
        if font.getlength(word) > width or len(word) > max_chars:
            return lines
        line = word
    return [*lines, line] if line else lines


def _cut(line: str, font: ImageFont.FreeTypeFont, width: float, max_chars: int) -> str:
    """`line` shortened to fit `width` px and max_chars visible characters (indentation not counted)."""
    line = line.rstrip()[: len(line) - len(line.lstrip()) + max_chars]
    while line and font.getlength(line) > width:
        line = line[:-1]
    return line.rstrip()


def _place(page: _Page, rng: random.Random, lines: list[str], indent: int = 0) -> tuple[int, int]:
    """A random top-left corner for `lines` (drawn `indent` px right of it) inside the margins."""
    right = page.image.width - page.margin - indent - max(math.ceil(page.font.getlength(line)) for line in lines)
    bottom = page.image.height - page.margin - (len(lines) - 1) * page.pitch - page.height
    return rng.randint(page.margin, max(page.margin, right)), rng.randint(page.margin, max(page.margin, bottom))


def _draw_lines(page: _Page, x: float, y: int, lines: list[str]) -> list[list[float]]:
    """Draw `lines` from (x, y); returns each line's ink box."""
    for k, line in enumerate(lines):
        page.draw.text((x, y + k * page.pitch), line, font=page.font, fill=page.fg)
    return [list(page.draw.textbbox((x, y + k * page.pitch), line, font=page.font)) for k, line in enumerate(lines)]


def _degrade(config: TextRenderConfig, rng: random.Random, page: _Page, box: list[float]) -> tuple[Image.Image, list]:
    """Each degradation with probability noise_p; the answer's box follows the rotation."""
    image, size = page.image, page.image.width
    if rng.random() < config.noise_p:
        angle = rng.uniform(-config.rotate_deg, config.rotate_deg)
        image = image.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=page.bg)
        c, s, mid = math.cos(math.radians(angle)), math.sin(math.radians(angle)), size / 2
        corners = [(x - mid, y - mid) for x in (box[0], box[2]) for y in (box[1], box[3])]
        xs = [mid + dx * c + dy * s for dx, dy in corners]  # Pillow turns counter-clockwise, y pointing down
        ys = [mid - dx * s + dy * c for dx, dy in corners]
        box = [min(xs), min(ys), max(xs), max(ys)]
    if rng.random() < config.noise_p:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(*config.blur_radius)))
    if rng.random() < config.noise_p:
        noise = np.random.default_rng(rng.getrandbits(32)).normal(0, config.noise_sigma, (size, size, 3))
        image = Image.fromarray(np.clip(np.asarray(image, np.float32) + noise, 0, 255).astype(np.uint8))
    if rng.random() < config.noise_p:
        buffer = BytesIO()
        image.save(buffer, "JPEG", quality=rng.randint(*config.jpeg_quality))
        image = Image.open(buffer).convert("RGB")
    rounded = [math.floor(box[0]), math.floor(box[1]), math.ceil(box[2]), math.ceil(box[3])]
    return image, [max(0, min(size, v)) for v in rounded]


def _example(config: TextRenderConfig, rng: random.Random, page: _Page, prompt: str, target: str, kind: str,
             box: list[float], split: str, doc: str, **meta) -> VLExample:
    image, box = _degrade(config, rng, page, box)
    return VLExample(image, prompt, target, kind, {
        "source": doc.split("/")[0], "doc": doc, "font": page.font_name, "font_px": page.font_px, "split": split,
        "box": box, "background": list(page.bg), "foreground": list(page.fg), **meta})


# The four kinds.


def _transcribe(config: TextRenderConfig, rng: random.Random, split: str) -> VLExample:
    page = _page(config, rng)
    if rng.random() < 0.5:  # one line alone on the canvas
        limit, lines = rng.randint(config.min_chars, config.max_chars), []
        while not lines:  # empty when the window's first word fits no line: take another window
            doc, words = _wiki_words(rng, split, 30, 1)
            lines = _wrap(words, page.font, page.width, limit)[:1]
        box = _draw_lines(page, *_place(page, rng, lines), lines)[0]
        return _example(config, rng, page, "Read the text in the image.", lines[0], "transcribe", box, split, doc,
                        layout="line")
    lines, doc = _paragraph(config, rng, page, split)
    x, y = _place(page, rng, lines)
    k = rng.randrange(len(lines))
    highlight = _mix(page.bg, rng.choice(HIGHLIGHTS), 0.5 if sum(page.bg) > 300 else 0.3)
    top = y + k * page.pitch
    page.draw.rectangle([x - MARK_PAD, top - MARK_PAD, x + page.font.getlength(lines[k]) + MARK_PAD,
                         top + page.height + MARK_PAD], fill=highlight)
    box = _draw_lines(page, x, y, lines)[k]
    return _example(config, rng, page, "Read the highlighted line.", lines[k], "transcribe", box, split, doc,
                    layout="paragraph", lines=len(lines))


def _paragraph(config: TextRenderConfig, rng: random.Random, page: _Page, split: str) -> tuple[list[str], str]:
    """Wrapped lines of one article (fewer than asked when the canvas holds fewer or the printable run ends)."""
    wanted = _fit_lines(page, rng.randint(*config.paragraph_lines))
    width = rng.uniform(0.6, 1.0) * page.width
    while True:
        doc, words = _wiki_words(rng, split, 16 * wanted, 6)
        if lines := _wrap(words, page.font, width, config.max_chars)[:wanted]:
            return lines, doc


def _text_qa(config: TextRenderConfig, rng: random.Random, split: str) -> VLExample:
    page = _page(config, rng)
    lines, doc = _paragraph(config, rng, page, split)
    x, y = _place(page, rng, lines)
    boxes = _draw_lines(page, x, y, lines)
    # A word is a space-separated token without its surrounding punctuation: (line, offset in the line, word).
    words = [(k, start + token.index(word), word) for k, line in enumerate(lines) for start, token in _tokens(line)
             if (word := token.strip(PUNCTUATION))]
    marked = [w for w in words if w[2].isalnum() and len(w[2]) >= 3]  # worth marking: 3+ letters or digits
    question = rng.choice(["line_count"] + ["first_word"] * bool(words) + ["marked_word"] * bool(marked))
    if question == "line_count":
        union = [min(b[0] for b in boxes), boxes[0][1], max(b[2] for b in boxes), boxes[-1][3]]
        return _example(config, rng, page, "How many lines of text are there?", str(len(lines)), "text_qa", union,
                        split, doc, question=question, lines=len(lines))
    k, start, word = words[0] if question == "first_word" else rng.choice(marked)
    box = list(page.draw.textbbox((x + page.font.getlength(lines[k][:start]), y + k * page.pitch), word,
                                  font=page.font))
    prompt = "What is the first word of the text?"
    if question == "marked_word":
        colour, thickness = rng.choice(MARKS), max(1, page.font_px // 14)
        if rng.random() < 0.5:
            prompt, bottom = "Which word is underlined?", y + k * page.pitch + page.height + 1
            page.draw.line([(box[0], bottom), (box[2], bottom)], fill=colour, width=thickness)
        else:
            prompt = "Which word is in the box?"
            padded = [box[0] - MARK_PAD, box[1] - MARK_PAD, box[2] + MARK_PAD, box[3] + MARK_PAD]
            page.draw.rectangle(padded, outline=colour, width=thickness)
    return _example(config, rng, page, prompt, word, "text_qa", box, split, doc, question=question, lines=len(lines))


def _tokens(line: str) -> Iterator[tuple[int, str]]:
    start = 0
    for token in line.split(" "):
        yield start, token
        start += len(token) + 1


def _code(config: TextRenderConfig, rng: random.Random, split: str) -> VLExample:
    page = _page(config, rng, code=True)
    wanted, numbered = _fit_lines(page, rng.randint(*config.code_lines)), rng.random() < 0.5
    digits = len(str(wanted))
    gutter = math.ceil(page.font.getlength("9" * digits + "  ")) if numbered else 0  # right-aligned numbers
    while True:
        name, path = rng.choice(_code_pool(split))
        source = _code_lines(path)
        start = rng.randrange(max(1, len(source) - wanted + 1))
        window = textwrap.dedent("\n".join(source[start : start + wanted])).strip("\n").split("\n")
        lines = [_cut(line, page.font, page.width - gutter, config.max_chars) for line in window]
        if all(map(_printable, lines)) and sum(map(bool, lines)) >= 2:
            break
    x, y = _place(page, rng, lines, gutter)
    if numbered:  # dimmed numbers in a gutter, as editors show them
        for k in range(len(lines)):
            page.draw.text((x, y + k * page.pitch), f"{k + 1:>{digits}}", font=page.font,
                           fill=_mix(page.fg, page.bg, 0.45))
    _draw_lines(page, x + gutter, y, lines)
    k = rng.choice([k for k, line in enumerate(lines) if line])
    # The target is the line's visible text: indentation is no ink, and scoring normalizes whitespace anyway.
    target = lines[k].lstrip()
    left = x + gutter + page.font.getlength(lines[k][: len(lines[k]) - len(target)])
    box = list(page.draw.textbbox((left, y + k * page.pitch), target, font=page.font))
    return _example(config, rng, page, f"Transcribe line {k + 1}.", target, "code", box, split, f"stdlib/{name}",
                    numbered=numbered, lines=len(lines))


def _math_problem(rng: random.Random) -> tuple[str, str]:
    """(Python expression, the text shown): small integer arithmetic, including one-unknown equations."""
    a, b, c = rng.randint(2, 999), rng.randint(2, 99), rng.randint(2, 12)
    form = rng.randrange(6)
    if form == 5:  # "x + 17 = 42, x =" -> 42 - 17
        op, a = rng.choice("+-"), max(a, b + 1)  # x - b stays positive
        total = a + b if op == "+" else a - b
        return f"{total} {'-' if op == '+' else '+'} {b}", f"x {op} {b} = {total}, x ="
    expression = [
        f"{a} {rng.choice('+-')} {b}",
        f"{b} * {rng.randint(2, 30)}",
        f"{c * rng.randint(2, 50)} / {c}",  # exact division only
        f"{b} {rng.choice('+-*')} {c} {rng.choice('+-')} {rng.randint(2, 99)}",
        f"({b} {rng.choice('+-')} {rng.randint(2, 99)}) * {c}",
    ][form]
    return expression, f"{expression} ="


def _math(config: TextRenderConfig, rng: random.Random, split: str) -> VLExample:
    page = _page(config, rng)
    unicode = rng.random() < 0.5  # × and ÷ as printed, or * and / as typed
    for _ in range(1000):
        expression, shown = _math_problem(rng)
        shown = shown.replace("*", "\u00d7").replace("/", "\u00f7") if unicode else shown
        if _split_of(expression) == split and page.font.getlength(shown) <= page.width:
            break
    else:
        raise ValueError(f"no expression fits a {config.image_size} px canvas at {page.font_px} px")
    value = eval(expression, {"__builtins__": {}})  # our own digits and operators: school-arithmetic precedence
    box = _draw_lines(page, *_place(page, rng, [shown]), [shown])[0]
    return _example(config, rng, page, "Compute the result shown in the image.", str(int(value)), "math", box, split,
                    f"math/{expression}", expression=expression)


_RENDERERS = {"transcribe": _transcribe, "text_qa": _text_qa, "code": _code, "math": _math}
