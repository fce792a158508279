"""The torch backend for InfiR-VL checkpoints: `LlavaForConditionalGeneration` with images in the prompt.

The reference the exported VL backends are compared with. Text-only prompts run exactly as on `TorchEngine`;
a prompt with images expands each `<image>` token to one position per patch and lets the model put the projected
patch features there, then decodes token by token through the same KV cache.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from infir_edge.errors import InvalidRequestError
from infir_edge.models.images import pixel_values
from infir_edge.models.vl import IMAGE_MEAN, IMAGE_STD, load_vl_checkpoint
from infir_edge.runtime.pytorch import DTYPES, TorchEngine, _import_torch
from infir_edge.runtime.resources import resolve_threads


class TorchVLEngine(TorchEngine):
    supports_images = True

    def __init__(self, path: str | Path, *, n_ctx: int | None = None, threads: int | None = None,
                 dtype: str = "float32") -> None:
        from infir_edge.runtime.engine import Engine

        Engine.__init__(self)
        torch, _ = _import_torch()
        if dtype not in DTYPES:
            raise InvalidRequestError(f"dtype must be one of {DTYPES}, got {dtype!r}")
        self.path = Path(path)
        self.threads = resolve_threads(threads)
        torch.set_num_threads(self.threads)
        self._torch = torch
        self.format, self.quantization = "checkpoint", dtype
        self.model, self.tokenizer = load_vl_checkpoint(self.path, dtype=dtype)
        self._attach(n_ctx)

    def _attach(self, n_ctx: int | None) -> None:
        super()._attach(n_ctx)
        config = self.model.config
        self.image_size = config.vision_config.image_size
        self.image_tokens = int(config.image_seq_length)
        self.image_token_id = int(config.image_token_index)

    def _pixels(self, images: list):
        batch = np.stack([pixel_values(i, self.image_size, IMAGE_MEAN, IMAGE_STD) for i in images])  # [N, 3, S, S]
        return self._torch.from_numpy(batch).to(self.model.dtype)

    def _prefill_images(self, prompt: str, images: list) -> np.ndarray:
        from transformers import DynamicCache

        torch = self._torch
        ids = []
        for token in self._tokenize(prompt, True):
            ids += [token] * self.image_tokens if token == self.image_token_id else [token]
        self._cache = DynamicCache()
        with torch.inference_mode():
            out = self.model(input_ids=torch.tensor([ids]), pixel_values=self._pixels(images),  # [1, T], [N, 3, S, S]
                             past_key_values=self._cache, use_cache=True, logits_to_keep=1)
        return out.logits[0, -1].float().numpy()  # [V]

    def _image_embeddings(self, image) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            features = self.model.get_image_features(
                pixel_values=self._pixels([image]), vision_feature_layer=self.model.config.vision_feature_layer,
                vision_feature_select_strategy="full")
        return features[0].float().numpy()  # [image_tokens, D]
