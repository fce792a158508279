"""VL examples -> model inputs: the chat the SDK renders at inference, `<image>` expanded to one token per patch,
the loss on the assistant's answer only.

Training and inference must see the same text: the prompt is the tokenizer's own chat template applied to a user
turn that starts with the image placeholder (what `infir_edge.runtime.chat.split_images` makes of an image part),
and the pixels are `infir_edge.models.images.pixel_values` of the image, as every backend computes them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from infir_edge.models.images import normalize, resize_square
from infir_edge.models.vl import IMAGE_MEAN, IMAGE_STD
from infir_edge.runtime.chat import IMAGE_PLACEHOLDER
from training.vl.examples import VLExample

IGNORE = -100  # the label PyTorch's cross-entropy skips


def user_turn(prompt: str) -> list[dict]:
    return [{"role": "user", "content": f"{IMAGE_PLACEHOLDER}\n{prompt}"}]


@dataclass
class Encoded:
    input_ids: list[int]  # the image token expanded to image_tokens positions
    labels: list[int]  # IGNORE outside the answer
    image: np.ndarray  # [S, S, 3] uint8: kept small in memory, normalized per batch


class Encoder:
    """Tokenizes examples for one model: its chat template, image token and image size."""

    def __init__(self, tokenizer, config, *, max_length: int = 320) -> None:
        self.tokenizer = tokenizer
        self.image_token_id = int(config.image_token_index)
        self.image_tokens = int(config.image_seq_length)
        self.image_size = int(config.vision_config.image_size)
        self.max_length = max_length
        self.end_of_turn = _end_of_turn(tokenizer)

    def prompt_ids(self, prompt: str) -> list[int]:
        """The generation prompt's ids with the image token NOT expanded, tokenized as an Engine does (with the
        tokenizer's own BOS, if it adds one)."""
        text = self.tokenizer.apply_chat_template(user_turn(prompt), tokenize=False, add_generation_prompt=True)
        return self.tokenizer(text)["input_ids"]

    def expand(self, ids: list[int]) -> list[int]:
        out: list[int] = []
        for token in ids:
            out += [token] * self.image_tokens if token == self.image_token_id else [token]
        return out

    def encode(self, example: VLExample) -> Encoded | None:
        """The example as model inputs, or None if it does not fit `max_length` whole (cutting it would drop image
        tokens or the answer's end of turn, which teaches the model not to stop)."""
        prompt = self.expand(self.prompt_ids(example.prompt))
        # the answer ends as the chat template closes an assistant turn
        answer = self.tokenizer(example.target + self.end_of_turn, add_special_tokens=False)["input_ids"]
        if len(prompt) + len(answer) > self.max_length:
            return None
        image = np.asarray(resize_square(example.image, self.image_size), dtype=np.uint8)
        return Encoded(prompt + answer, [IGNORE] * len(prompt) + answer, image)


def _end_of_turn(tokenizer) -> str:
    """What the chat template writes after an assistant's message (ChatML: `<|im_end|>`), found by rendering one."""
    marker = "\x00answer\x00"
    rendered = tokenizer.apply_chat_template([{"role": "user", "content": "q"}, {"role": "assistant",
                                                                             "content": marker}], tokenize=False)
    tail = rendered.split(marker, 1)[1].strip() if marker in rendered else ""
    return tail or tokenizer.eos_token or ""


def collate(batch: list[Encoded], pad_id: int, *, left_pad: bool = False):
    """A padded batch: input_ids/labels/attention_mask `[B, T]`, pixel_values `[B, 3, S, S]` (torch tensors)."""
    import torch

    length = max(len(e.input_ids) for e in batch)
    ids = torch.full((len(batch), length), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), length), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(batch), length), dtype=torch.long)
    for row, e in enumerate(batch):
        n = len(e.input_ids)
        span = slice(length - n, length) if left_pad else slice(0, n)
        ids[row, span] = torch.tensor(e.input_ids)
        labels[row, span] = torch.tensor(e.labels)
        mask[row, span] = 1
    pixels = np.stack([normalize(e.image, IMAGE_MEAN, IMAGE_STD) for e in batch])  # [B, 3, S, S]
    return {"input_ids": ids, "labels": labels, "attention_mask": mask, "pixel_values": torch.from_numpy(pixels)}
