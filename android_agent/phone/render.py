"""Draws a laid-out view tree as the phone's screen: the pixels a vision-language agent learns from.

Each view is drawn by its `style` (a button's filled shape, a switch's track and thumb, a field's underline and
hint, ...) in pre-order, so children and later siblings paint over earlier ones, as on Android. Text uses a real
TrueType font, is ellipsized or wrapped to its view's width and never drawn outside its bounds. A light and a dark
palette make Settings' "Dark theme" darken every app.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image, ImageDraw, ImageFont

if TYPE_CHECKING:
    from android_agent.phone.ui import View

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
ELLIPSIS = "…"
DEFAULT_TINT = (26, 115, 232)
WHITE = (255, 255, 255)

# Font size (px) per text style; bold styles use the bold face.
TEXT_SIZES = {"body": 44, "title": 48, "secondary": 37, "app_title": 56, "headline": 110, "display": 64,
              "status": 36, "status_right": 36, "error": 38, "bubble_in": 42, "bubble_out": 42,
              "button": 40, "text_button": 40, "outlined_button": 40, "fab": 40, "field": 44, "check": 44,
              "star": 44, "launcher_icon": 34}
BOLD = {"title", "app_title", "button", "text_button", "outlined_button", "fab", "display"}
CENTERED = {"button", "text_button", "outlined_button", "launcher_icon"}
TEXT_PAD = 8


@dataclass(frozen=True)
class Palette:
    background: tuple[int, int, int]
    surface: tuple[int, int, int]
    status_bar: tuple[int, int, int]
    text: tuple[int, int, int]
    secondary: tuple[int, int, int]
    divider: tuple[int, int, int]
    field: tuple[int, int, int]
    disabled: tuple[int, int, int]
    bubble_in: tuple[int, int, int]
    error: tuple[int, int, int]
    dark: bool


LIGHT = Palette((250, 250, 252), (255, 255, 255), (236, 236, 242), (28, 27, 31), (98, 98, 108), (226, 226, 232),
                (238, 238, 244), (190, 190, 196), (232, 232, 240), (198, 40, 40), dark=False)
DARK = Palette((16, 16, 19), (30, 30, 35), (24, 24, 28), (232, 232, 238), (160, 160, 172), (58, 58, 64),
               (44, 44, 50), (90, 90, 96), (50, 50, 58), (239, 110, 110), dark=True)


def text_size(style: str) -> int:
    return TEXT_SIZES.get(style, TEXT_SIZES["body"])


def line_height(style: str) -> int:
    return int(text_size(style) * 1.3)


@lru_cache(maxsize=64)
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = FONT_DIR / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")
    if path.exists():
        # BASIC layout: no complex shaping needed for these strings, and it is the fastest engine.
        return ImageFont.truetype(str(path), size, layout_engine=ImageFont.Layout.BASIC)
    return ImageFont.load_default(size=size)


def style_font(style: str) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return font(text_size(style), style in BOLD)


def measure(text: str, style: str) -> int:
    """The drawn width of one line of `text` in `style`, in pixels."""
    return int(style_font(style).getlength(text))


def wrap(text: str, size: int, width: int, bold: bool = False) -> list[str]:
    """Greedy word wrap to `width` pixels; a word longer than a line is broken between characters."""
    face = font(size, bold)
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if face.getlength(candidate) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
            line = word
            while face.getlength(line) > width and len(line) > 1:
                cut = _fitting_prefix(face, line, width)
                lines.append(line[:cut])
                line = line[cut:]
        lines.append(line)
    return lines


def ellipsize(text: str, style: str, width: int) -> str:
    face = style_font(style)
    text = text.replace("\n", " ")
    if face.getlength(text) <= width:
        return text
    return text[: _fitting_prefix(face, text + ELLIPSIS, width - face.getlength(ELLIPSIS))] + ELLIPSIS


def _fitting_prefix(face: ImageFont.FreeTypeFont | ImageFont.ImageFont, text: str, width: float) -> int:
    """The largest n >= 1 (binary search) with text[:n] at most `width` pixels wide."""
    low, high = 1, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if face.getlength(text[:middle]) <= width:
            low = middle
        else:
            high = middle - 1
    return low


def render(root: View, size: tuple[int, int], *, dark: bool = False) -> Image.Image:
    palette = DARK if dark else LIGHT
    image = Image.new("RGB", size, palette.background)
    _Painter(image, palette).paint(root, palette.text, on_tint=False)
    return image


class _Painter:
    def __init__(self, image: Image.Image, palette: Palette) -> None:
        self.image = image
        self.draw = ImageDraw.Draw(image)
        self.palette = palette

    def paint(self, view: View, color: tuple[int, int, int], *, on_tint: bool) -> None:
        """Draws `view` then its children; `color` is the content colour its container sets (white on a tint)."""
        if view.width <= 0 or view.height <= 0:
            return
        painter = getattr(self, f"_{view.style}", None)
        if painter is not None:
            color, on_tint = painter(view, color, on_tint)
        elif view.text:
            self._text(view, view.text, color)
        for child in view.children:
            self.paint(child, color, on_tint=on_tint)

    # -- containers ------------------------------------------------------------------------------------------------
    def _status_bar(self, view, color, on_tint):
        self.draw.rectangle(_shape(view.bounds), fill=self.palette.status_bar)
        return color, on_tint

    def _app_bar(self, view, color, on_tint):
        if self.palette.dark:
            self.draw.rectangle(_shape(view.bounds), fill=self.palette.surface)
            return self.palette.text, False
        self.draw.rectangle(_shape(view.bounds), fill=view.tint or DEFAULT_TINT)
        return WHITE, True

    def _list_item(self, view, color, on_tint):
        x1, y1, x2, y2 = view.bounds
        self.draw.rectangle((x1, y1, x2 - 1, y2 - 1), fill=self.palette.surface)
        self.draw.line((x1 + 48, y2 - 1, x2 - 1, y2 - 1), fill=self.palette.divider, width=2)
        return color, on_tint

    def _dialog(self, view, color, on_tint):
        self.draw.rounded_rectangle(_shape(view.bounds), 36, fill=self.palette.surface)
        return self.palette.text, False

    def _scrim(self, view, color, on_tint):
        region = self.image.crop(view.bounds)
        self.image.paste(Image.blend(region, Image.new("RGB", region.size, (0, 0, 0)), 0.5), view.bounds[:2])
        return color, on_tint

    # -- widgets ---------------------------------------------------------------------------------------------------
    def _avatar(self, view, color, on_tint):
        self.draw.ellipse(_shape(view.bounds), fill=view.tint or DEFAULT_TINT)
        self._centered(view.bounds, view.icon, font(int(view.height * 0.45), True), WHITE)
        return color, on_tint

    def _launcher_icon(self, view, color, on_tint):
        x1, y1, x2, _ = view.bounds
        side = min(150, x2 - x1 - 16)
        left = (x1 + x2 - side) // 2
        square = (left, y1 + 16, left + side, y1 + 16 + side)
        self.draw.rounded_rectangle(square, side // 4, fill=view.tint or DEFAULT_TINT)
        self._centered(square, view.icon, font(side // 2, True), WHITE)
        label = (x1, square[3] + 8, x2, view.bounds[3])
        self._line(label, ellipsize(view.text, view.style, x2 - x1 - 2 * TEXT_PAD), view.style, color, "center")
        return color, on_tint

    def _icon_button(self, view, color, on_tint):
        self._centered(view.bounds, view.icon, font(int(view.height * 0.42), True), view.tint or color)
        return color, on_tint

    def _button(self, view, color, on_tint):
        fill = (view.tint or DEFAULT_TINT) if view.enabled else self.palette.disabled
        self.draw.rounded_rectangle(_shape(view.bounds, 8), (view.height - 16) // 2, fill=fill)
        self._text(view, view.text, WHITE)
        return color, on_tint

    def _text_button(self, view, color, on_tint):
        self._text(view, view.text, view.tint or (WHITE if on_tint else DEFAULT_TINT))
        return color, on_tint

    def _outlined_button(self, view, color, on_tint):
        tint = view.tint or DEFAULT_TINT
        self.draw.rounded_rectangle(_shape(view.bounds, 8), (view.height - 16) // 2, outline=tint, width=4)
        self._text(view, view.text, tint if view.enabled else self.palette.disabled)
        return color, on_tint

    def _fab(self, view, color, on_tint):
        x1, y1, x2, y2 = view.bounds
        self.draw.rounded_rectangle(_shape(view.bounds), 44, fill=view.tint or DEFAULT_TINT)
        self._centered((x1, y1, x1 + (y2 - y1), y2), view.icon, font(56, True), WHITE)
        self._line((x1 + (y2 - y1) - 16, y1, x2 - 24, y2), ellipsize(view.text, "fab", x2 - x1 - (y2 - y1)), "fab",
                   WHITE, "left")
        return color, on_tint

    def _field(self, view, color, on_tint):
        x1, y1, x2, y2 = _shape(view.bounds, 8)
        tint = view.tint or DEFAULT_TINT
        self.draw.rounded_rectangle((x1, y1, x2, y2), 16, fill=self.palette.field)
        self.draw.line((x1, y2 - 3, x2, y2 - 3), fill=tint if view.focused else self.palette.secondary,
                       width=6 if view.focused else 3)
        shown = "•" * len(view.text) if view.password else view.text
        inner = (x1 + 24, y1, x2 - 24, y2)
        if not shown:
            self._line(inner, ellipsize(view.hint, "field", inner[2] - inner[0]), "field", self.palette.secondary,
                       "left")
            end = inner[0]
        elif view.lines > 1:
            end = self._paragraph(inner, shown, "field", color, view.lines)
        else:
            shown = _tail_fitting(shown, "field", inner[2] - inner[0] - 8)
            end = self._line(inner, shown, "field", color, "left")
        if view.focused and view.lines == 1:
            middle = (y1 + y2) // 2
            self.draw.line((end + 4, middle - 30, end + 4, middle + 30), fill=tint, width=4)
        return color, on_tint

    def _switch(self, view, color, on_tint):
        x1, y1, x2, y2 = view.bounds
        middle = (y1 + y2) // 2
        track = (x1 + 12, middle - 30, x2 - 12, middle + 30)
        on = view.checked
        self.draw.rounded_rectangle(track, 30, fill=(view.tint or DEFAULT_TINT) if on else self.palette.disabled)
        cx = track[2] - 30 if on else track[0] + 30
        self.draw.ellipse((cx - 24, middle - 24, cx + 24, middle + 24), fill=WHITE)
        return color, on_tint

    def _check(self, view, color, on_tint):
        x1, y1, _, y2 = view.bounds
        middle = (y1 + y2) // 2
        box = (x1 + 16, middle - 28, x1 + 72, middle + 28)
        tint = view.tint or DEFAULT_TINT
        if view.checked:
            self.draw.rounded_rectangle(box, 8, fill=tint)
            self._centered(box, "✓", font(44, True), WHITE)
        else:
            self.draw.rounded_rectangle(box, 8, outline=self.palette.secondary, width=4)
        self._line((x1 + 96, y1, view.bounds[2], y2), ellipsize(view.text, "check", view.width - 104), "check",
                   color, "left")
        return color, on_tint

    def _star(self, view, color, on_tint):
        x1, y1, _, y2 = view.bounds
        star = (x1 + 8, y1, x1 + 88, y2)
        self._centered(star, "★" if view.checked else "☆", font(64), (245, 180, 0) if view.checked else color)
        self._line((x1 + 96, y1, view.bounds[2], y2), ellipsize(view.text, "star", view.width - 104), "star",
                   color, "left")
        return color, on_tint

    def _bubble_in(self, view, color, on_tint):
        self.draw.rounded_rectangle(_shape(view.bounds), 36, fill=self.palette.bubble_in)
        self._paragraph(_inset(view.bounds, 28), view.text, view.style, self.palette.text, view.lines)
        return color, on_tint

    def _bubble_out(self, view, color, on_tint):
        self.draw.rounded_rectangle(_shape(view.bounds), 36, fill=view.tint or DEFAULT_TINT)
        self._paragraph(_inset(view.bounds, 28), view.text, view.style, WHITE, view.lines)
        return color, on_tint

    def _secondary(self, view, color, on_tint):
        self._text(view, view.text, (235, 235, 240) if on_tint else self.palette.secondary)
        return color, on_tint

    def _error(self, view, color, on_tint):
        self._text(view, view.text, self.palette.error)
        return color, on_tint

    def _status_right(self, view, color, on_tint):
        inner = _inset(view.bounds, TEXT_PAD)
        self._line(inner, ellipsize(view.text, view.style, inner[2] - inner[0]), view.style, color, "right")
        return color, on_tint

    # -- text ------------------------------------------------------------------------------------------------------
    def _text(self, view: View, text: str, color: tuple[int, int, int]) -> None:
        inner = _inset(view.bounds, TEXT_PAD)
        if view.lines > 1:
            self._paragraph(inner, text, view.style, color, view.lines)
            return
        align = "center" if view.style in CENTERED else "left"
        self._line(inner, ellipsize(text, view.style, inner[2] - inner[0]), view.style, color, align)

    def _paragraph(self, box, text: str, style: str, color, max_lines: int) -> int:
        """Wrapped text from the top of `box`, as many lines as fit (the last one ellipsized); returns its end x."""
        x1, y1, x2, y2 = box
        height = line_height(style)
        fitting = max(1, min(max_lines, (y2 - y1) // height))
        lines = wrap(text, text_size(style), x2 - x1, style in BOLD)
        if len(lines) > fitting:
            lines = lines[: fitting - 1] + [ellipsize(" ".join(lines[fitting - 1:]), style, x2 - x1)]
        end = x1
        for index, line in enumerate(lines):
            top = y1 + index * height
            end = self._line((x1, top, x2, top + height), line, style, color, "left")
        return end

    def _line(self, box, text: str, style: str, color, align: str) -> int:
        """One line vertically centred in `box`; returns the x where it ends. Too short a box draws nothing."""
        x1, y1, x2, y2 = box
        face = style_font(style)
        if not text or y2 - y1 < text_size(style):
            return x1
        width = face.getlength(text)
        x = {"left": x1, "center": (x1 + x2 - width) / 2, "right": x2 - width}[align]
        self.draw.text((x, (y1 + y2) / 2), text, font=face, fill=color, anchor="lm")
        return int(x + width)

    def _centered(self, box, text: str, face, color) -> None:
        self.draw.text(((box[0] + box[2]) / 2, (box[1] + box[3]) / 2), text, font=face, fill=color, anchor="mm")


def _inset(bounds, by: int) -> tuple[int, int, int, int]:
    """`bounds` shrunk by `by` on every side (end-exclusive, like view bounds)."""
    x1, y1, x2, y2 = bounds
    return (x1 + by, y1 + by, max(x1 + by, x2 - by), max(y1 + by, y2 - by))


def _shape(bounds, by: int = 0) -> tuple[int, int, int, int]:
    """The pixels of a shape inset by `by`: PIL's shapes include their end coordinates, view bounds do not."""
    x1, y1, x2, y2 = _inset(bounds, by)
    return (x1, y1, max(x1, x2 - 1), max(y1, y2 - 1))


def _tail_fitting(text: str, style: str, width: int) -> str:
    """The end of a long field's text, as a single-line field scrolls to show the cursor."""
    face = style_font(style)
    text = text.replace("\n", " ")
    if face.getlength(text) <= width:
        return text
    reversed_cut = _fitting_prefix(face, text[::-1], width)
    return text[-reversed_cut:]
