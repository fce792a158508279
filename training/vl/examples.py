"""One image-text training example and its on-disk form: a folder of PNGs plus `examples.jsonl`.

Every VL data source (text rendering, GUI screens, captions from a path) yields `VLExample`s; every stage reads
them back with `read_examples`. The folder is written atomically, so an interrupted generation leaves nothing
half-written behind and a rerun starts it again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from infir_edge.files import atomic_directory

RECORDS = "examples.jsonl"


@dataclass
class VLExample:
    image: Image.Image  # RGB, any size: the model's processor resizes it
    prompt: str  # the user's text; the image comes before it in the conversation
    target: str  # what the assistant should answer
    kind: str  # e.g. "transcribe", "text_qa", "math", "grounding", "action", "caption"
    meta: dict = field(default_factory=dict)  # JSON-serializable facts evaluation needs (e.g. the target's box)


def write_examples(out: str | Path, examples: Iterable[VLExample], *, overwrite: bool = False) -> int:
    """Write `examples` to the folder `out` (images as PNG); returns how many were written."""
    count = 0
    with atomic_directory(out, overwrite=overwrite) as tmp:
        (tmp / "images").mkdir()
        with (tmp / RECORDS).open("w", encoding="utf-8") as f:
            for count, example in enumerate(examples, 1):
                name = f"images/{count - 1:06d}.png"
                example.image.convert("RGB").save(tmp / name, compress_level=1)  # 5x faster than the default 6
                record = {"image": name, "prompt": example.prompt, "target": example.target, "kind": example.kind,
                          "meta": example.meta}
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
    return count


def read_records(folder: str | Path) -> list[dict]:
    """The examples' records without their images (cheap: for choosing which examples to load)."""
    with (Path(folder) / RECORDS).open(encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def read_examples(folder: str | Path, *, records: Iterable[dict] | None = None,
                  square: int | None = None) -> Iterator[VLExample]:
    """The examples `write_examples` wrote (or the given `records` of them), images loaded lazily one at a time.

    `square`: resize each image at once to the model's square input (`infir_edge.models.images.resize_square`, the
    pixels every backend computes): a full-size phone screenshot takes 7.8 MB in memory, its 384 px input 0.4 MB."""
    from infir_edge.models.images import resize_square

    folder = Path(folder)
    for record in read_records(folder) if records is None else records:
        with Image.open(folder / record["image"]) as image:
            rgb = image.convert("RGB")
        if square:
            rgb = resize_square(rgb, square)
        yield VLExample(rgb, record["prompt"], record["target"], record["kind"], record.get("meta", {}))


def count_examples(folder: str | Path) -> int:
    with (Path(folder) / RECORDS).open(encoding="utf-8") as f:
        return sum(1 for _ in f)
