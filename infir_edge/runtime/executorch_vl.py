"""The ExecuTorch backend for InfiR-VL bundles: the `.pte` `export/executorch_vl.py` writes, in the layout of
ExecuTorch's own `MultimodalRunner` (the same file runs there).

The program's methods: `vision_encoder(image [1, 3, S, S] uint8) -> [1, image_tokens, D]` (it normalizes the
resized RGB bytes itself), `token_embedding(tokens [1, T]) -> [1, T, D]` and `text_decoder(embeddings [1, T, D],
input_pos [1]) -> logits [1, V]` with the KV cache in its own buffers. A prompt's `<image>` token becomes
`image_tokens` positions holding what `vision_encoder` makes of the image, as in `TorchVLEngine`; text-only
prompts run through `token_embedding` and `text_decoder` as `ExecuTorchEngine` runs `forward`. The SDK samples.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from infir_edge.errors import BackendError, ModelFormatError
from infir_edge.models.bundle import MANIFEST, manifest_beside
from infir_edge.models.images import normalize, resize_square
from infir_edge.models.vl import IMAGE_MEAN, IMAGE_STD, IMAGE_TOKEN
from infir_edge.runtime.engine import Engine, EngineInfo
from infir_edge.runtime.executorch_backend import ExecuTorchEngine, _import_executorch
from infir_edge.runtime.resources import resolve_context_length, resolve_threads

# the names ExecuTorch's MultimodalRunner calls (extension/llm/runner/constants.h); export/executorch_vl.py
# writes them (not imported: the runtime needs no exporter)
VISION_METHOD = "vision_encoder"
EMBEDDING_METHOD = "token_embedding"
DECODER_METHOD = "text_decoder"
MODEL_FILE = "model.pte"
_BYTE, _FLOAT = 0, 6  # ExecuTorch ScalarType codes of the vision encoder's input


class ExecuTorchVLEngine(ExecuTorchEngine):
    backend_name = "executorch"
    supports_images = True

    def __init__(self, path: str | Path, *, n_ctx: int | None = None, threads: int | None = None,
                 vision: dict | None = None) -> None:
        """`path`: the `.pte` of a VL bundle (or the bundle directory); `vision`: the manifest's `vision` entry
        (read from the bundle's manifest when not given; the image size and token count come from the program
        itself, so a bare `.pte` beside its tokenizer files loads too)."""
        Engine.__init__(self)
        torch, Runtime, AutoTokenizer = _import_executorch()
        path = Path(path)
        if path.is_dir():  # a bundle directory: its manifest names the program
            path = path / manifest_beside(path / MANIFEST).get("model_file", MODEL_FILE)
        self.path = path
        self.threads = resolve_threads(threads)
        torch.set_num_threads(1)  # as ExecuTorchEngine: the program runs on ExecuTorch's own threadpool
        from executorch.extension.pybindings import portable_lib

        if portable_lib._threadpool_get_thread_count() != self.threads:
            portable_lib._unsafe_reset_threadpool(self.threads)
        self._torch = torch
        vision = vision if vision is not None else manifest_beside(path).get("vision")
        self.vision = dict(vision or {})
        try:
            program = Runtime.get().load_program(self.path)
            names = program.method_names
            missing = {VISION_METHOD, EMBEDDING_METHOD, DECODER_METHOD} - names
            if missing:
                raise ModelFormatError(f"{self.path}: not a multimodal LLM program (no {', '.join(sorted(missing))} "
                                       f"method)")
            self._embed_method = program.load_method(EMBEDDING_METHOD)
            self._decoder = program.load_method(DECODER_METHOD)
            self._vision_method = program.load_method(VISION_METHOD)
            constants = {name: program.load_method(name).execute([])[0] for name in names
                         if name.startswith("get_")}
            image_meta = program.metadata(VISION_METHOD)
            self.tokenizer = AutoTokenizer.from_pretrained(str(self.path.parent))
        except ModelFormatError:
            raise
        except Exception as e:  # the runtime raises RuntimeError/ValueError; tokenizers its own
            raise ModelFormatError(f"{self.path}: ExecuTorch could not load the program: {e}") from None
        if "get_max_context_len" not in constants:
            raise ModelFormatError(f"{self.path}: not an LLM program (no get_max_context_len method)")
        self.n_ctx_train = int(constants["get_max_context_len"])
        self._max_chunk = int(constants.get("get_max_seq_len", self.n_ctx_train)) - 1  # the token dimension's bound
        self.n_ctx = resolve_context_length(n_ctx, self.n_ctx_train, 0)
        self.n_vocab = int(constants.get("get_vocab_size", len(self.tokenizer)))
        self._adopt_tokenizer(self.tokenizer, constants.get("get_eos_ids"))
        self._position = 0

        pixels, features = image_meta.input_tensor_meta(0), image_meta.output_tensor_meta(0)
        size, tokens = pixels.sizes()[-1], features.sizes()[-2]  # [1, 3, S, S], [1, image_tokens, D]
        self._image_dtype, self._image_rank = pixels.dtype(), len(pixels.sizes())
        if self._image_dtype not in (_BYTE, _FLOAT):
            raise ModelFormatError(f"{self.path}: the vision encoder takes dtype code {self._image_dtype}, "
                                   "neither uint8 nor float32")
        for key, value in (("image_size", size), ("image_tokens", tokens)):
            if key in self.vision and int(self.vision[key]) != value:
                raise ModelFormatError(f"{self.path}: the manifest's {key} is {self.vision[key]}, "
                                       f"the program's {value}")
        self.image_size, self.image_tokens = int(size), int(tokens)
        token = self.vision.get("image_token", IMAGE_TOKEN)
        self.image_token_id = token if isinstance(token, int) else self.tokenizer.convert_tokens_to_ids(token)
        if self.image_token_id is None or self.image_token_id == self.tokenizer.unk_token_id:
            raise ModelFormatError(f"{self.path.parent}: the tokenizer has no image token {token!r}")

    # ---- embeddings --------------------------------------------------------------------------------
    def _embed(self, token_ids: list[int]):
        torch = self._torch
        rows = []
        for start in range(0, len(token_ids), self._max_chunk):
            chunk = torch.tensor([token_ids[start : start + self._max_chunk]], dtype=torch.long)
            try:
                rows.append(self._embed_method.execute([chunk])[0][0])  # [T, D]
            except Exception as e:
                raise BackendError(f"ExecuTorch failed to embed {chunk.shape[1]} tokens: {e}") from None
        return torch.cat(rows) if rows else torch.zeros(0, 0)

    def image_input(self, image) -> np.ndarray:
        """What the program's vision encoder takes of one image, `[3, S, S]`: the RGB bytes of the image resized to
        S x S (uint8; the program normalizes them), or the normalized `pixel_values` (float32) for a program whose
        encoder takes floats. What an app hands ExecuTorch's MultimodalRunner as its `Image` (channels first)."""
        rgb = np.asarray(resize_square(image, self.image_size))  # [S, S, 3] uint8, as pixel_values resizes
        if self._image_dtype == _FLOAT:
            return normalize(rgb, IMAGE_MEAN, IMAGE_STD)
        return np.ascontiguousarray(rgb.transpose(2, 0, 1))

    def _run_vision(self, image):
        pixels = self._torch.from_numpy(self.image_input(image))
        if self._image_rank == 4:
            pixels = pixels.unsqueeze(0)  # [1, 3, S, S]
        try:
            return self._vision_method.execute([pixels])[0][0]  # [image_tokens, D]
        except Exception as e:
            raise BackendError(f"ExecuTorch failed to encode an image: {e}") from None

    def _image_embeddings(self, image) -> np.ndarray:
        return self._run_vision(image).float().numpy()  # [image_tokens, D]

    # ---- backend primitives ------------------------------------------------------------------------
    def _evaluate_embeds(self, embeds) -> np.ndarray:
        torch = self._torch
        logits = None
        for start in range(0, embeds.shape[0], self._max_chunk):
            chunk = embeds[start : start + self._max_chunk][None].contiguous()  # [1, T, D]
            try:
                logits = self._decoder.execute([chunk, torch.tensor([self._position], dtype=torch.long)])[0]
            except Exception as e:
                raise BackendError(f"ExecuTorch failed to evaluate {chunk.shape[1]} positions: {e}") from None
            self._position += chunk.shape[1]
        return logits[0].float().numpy()  # [V]

    def _evaluate(self, token_ids: list[int]) -> np.ndarray:
        return self._evaluate_embeds(self._embed(token_ids))

    def _prefill_images(self, prompt: str, images: list) -> np.ndarray:
        pieces = self._spliced_prompt(prompt, images, self._embed, lambda k: self._run_vision(images[k]))
        self._position = 0  # as _prefill: the cache past the new prompt is never read
        return self._evaluate_embeds(self._torch.cat(pieces))  # [T + N * (image_tokens - 1), D]

    def info(self) -> EngineInfo:
        return dataclasses.replace(super().info(), architecture="llava")

    def _free(self) -> None:
        self._embed_method = self._decoder = self._vision_method = None
