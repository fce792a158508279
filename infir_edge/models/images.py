"""Images in: from what a user passes (a PIL image, a path) to the pixels a vision tower sees, with PIL and numpy.

Every backend preprocesses through `pixel_values`, so torch, onnxruntime and llama.cpp see the same pixels: the image
is resized to the tower's square input (as SiglipImageProcessor does; no padding, so a phone screenshot's
[0, 1000] coordinates map linearly onto the image) with bicubic resampling, scaled to [0, 1] and normalized.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from infir_edge.errors import InvalidRequestError


def load_image(image):
    """A PIL RGB image from a PIL image or a file path; `InvalidRequestError` for anything else or a bad file."""
    from PIL import Image, UnidentifiedImageError

    if isinstance(image, Image.Image):
        return image.convert("RGB")
    if isinstance(image, (str, Path)):
        path = Path(image)
        if not path.is_file():
            raise InvalidRequestError(f"image {path} does not exist")
        try:
            with Image.open(path) as opened:
                return opened.convert("RGB")
        except (UnidentifiedImageError, OSError) as e:
            raise InvalidRequestError(f"image {path} is not a readable image: {e}") from None
    raise InvalidRequestError(f"an image must be a PIL.Image or a path, not {type(image).__name__}")


def resize_square(image, size: int):
    """The image as the tower's `size` x `size` input (bicubic, like SiglipImageProcessor)."""
    from PIL import Image

    image = load_image(image)
    return image if image.size == (size, size) else image.resize((size, size), Image.Resampling.BICUBIC)


def pixel_values(image, size: int, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)) -> np.ndarray:
    """The normalized pixels of one image, `[3, size, size]` float32."""
    return normalize(np.asarray(resize_square(image, size)), mean, std)


def normalize(rgb: np.ndarray, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)) -> np.ndarray:
    """`[H, W, 3]` uint8 -> `[3, H, W]` float32 scaled to [0, 1] and normalized per channel."""
    scaled = rgb.astype(np.float32) / 255.0
    normalized = (scaled - np.asarray(mean, dtype=np.float32)) / np.asarray(std, dtype=np.float32)
    return np.ascontiguousarray(normalized.transpose(2, 0, 1))
