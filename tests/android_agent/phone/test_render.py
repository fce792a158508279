from __future__ import annotations

import numpy as np
from PIL import Image

from android_agent.phone import Phone
from android_agent.phone.render import LIGHT, ellipsize, measure, render, wrap
from android_agent.phone.ui import FRAME, TEXT_VIEW, View


def screens():
    """The main screen of every app, plus a dialog and an editor."""
    phone = Phone()
    for package in phone.packages():
        phone.start_app(package)
        yield phone
    phone.start_app("com.infir.contacts")
    add = next(view for view in phone.root().walk() if view.resource_id.endswith(":id/add"))
    phone.tap((add.bounds[0] + add.bounds[2]) // 2, (add.bounds[1] + add.bounds[3]) // 2)
    yield phone


def test_screenshot_is_rgb_of_the_phone_size():
    phone = Phone()
    image = phone.screenshot()
    assert image.mode == "RGB" and image.size == (1080, 2400)
    assert Image.open(__import__("io").BytesIO(phone.screenshot_jpeg(80))).size == (1080, 2400)


def test_text_views_have_non_empty_bounds_inside_the_screen():
    for phone in screens():
        for view in phone.root().walk():
            if view.text:
                x1, y1, x2, y2 = view.bounds
                assert 0 <= x1 < x2 <= 1080 and 0 <= y1 < y2 <= 2400, (phone.current_app(), view.text)


def test_clickable_views_are_drawn_not_plain_background():
    for phone in screens():
        pixels = np.asarray(phone.screenshot())
        for view in phone.root().walk():
            if view.clickable and view.style != "scrim":
                x1, y1, x2, y2 = view.bounds
                region = pixels[y1:y2, x1:x2].reshape(-1, 3)
                assert (region != LIGHT.background).any(axis=1).any(), (phone.current_app(), view.resource_id)


def test_dark_theme_darkens_every_app():
    light, dark = Phone(), Phone()
    dark.set_app_state("com.infir.settings", dark.app_state("com.infir.settings") | {"dark_theme": True})
    for package in light.packages():
        light.start_app(package)
        dark.start_app(package)
        assert np.asarray(dark.screenshot()).mean() < np.asarray(light.screenshot()).mean() - 80


def test_long_text_is_ellipsized_inside_its_view():
    text = View(TEXT_VIEW, (100, 100, 400, 170), text="An extremely long product name that cannot fit")
    image = np.asarray(render(View(FRAME, (0, 0, 600, 300), children=[text]), (600, 300)))
    outside = np.ones(image.shape[:2], bool)
    outside[100:170, 100:400] = False
    assert (image[outside] == LIGHT.background).all()
    assert (image[100:170, 100:400] != LIGHT.background).any()
    assert ellipsize(text.text, "body", 284).endswith("…") and measure(ellipsize(text.text, "body", 284), "body") <= 284


def test_wrap_keeps_every_line_within_the_width():
    lines = wrap("Your verification code is 123456. Supercalifragilisticexpialidocious words break.", 42, 300)
    assert len(lines) > 2 and all(measure(line, "bubble_in") <= 300 for line in lines)


def test_same_tree_renders_the_same_pixels():
    phone = Phone()
    assert render(phone.root(), phone.size).tobytes() == phone.screenshot().tobytes()
