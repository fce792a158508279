"""The onnxruntime backend for InfiR-VL bundles: `vision.onnx` for images, the LM over embeddings.

The bundle `export/onnx_vl.py` writes: the LM graph (the manifest's model file, from onnxruntime-genai's model
builder) takes `inputs_embeds` `[B, T, D]`, `attention_mask` and `past_key_values.{i}.key|value`, and returns
`logits [B, T, V]` and `present.{i}.key|value` (genai_config.json beside it names them and gives the shapes); it
runs in a plain onnxruntime session, the presents of one step fed back as the pasts of the next (onnxruntime-genai's
Generator takes token ids, not embeddings). Token embeddings are rows of `embed_tokens.npy` (int8 rows times
`embed_scales.npy` in a quantized bundle). A prompt's `<image>` token becomes `image_tokens` positions holding what
`vision.onnx` makes of the image, as in `TorchVLEngine`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from infir_edge.errors import BackendError, BackendUnavailableError, ModelFormatError
from infir_edge.models.bundle import MANIFEST, manifest_beside
from infir_edge.models.images import pixel_values
from infir_edge.models.vl import IMAGE_MEAN, IMAGE_STD, IMAGE_TOKEN
from infir_edge.runtime.engine import Engine, EngineInfo
from infir_edge.runtime.hf_tokenizer import HFTokenizerBackend
from infir_edge.runtime.onnxrt import read_genai_config
from infir_edge.runtime.resources import resolve_context_length, resolve_threads

EMBEDS_INPUT = "inputs_embeds"  # the names export/onnx_vl.py gives (not imported: the runtime needs no exporter)
PIXELS_INPUT = "pixel_values"
EMBED_FILE = "embed_tokens.npy"
EMBED_SCALES_FILE = "embed_scales.npy"


class OnnxRuntimeVLEngine(HFTokenizerBackend, Engine):
    backend_name = "onnxruntime"
    supports_images = True

    def __init__(self, path: str | Path, *, n_ctx: int | None = None, threads: int | None = None,
                 vision: dict | None = None) -> None:
        """`path`: the LM graph of a VL bundle (or the bundle directory); `vision`: the manifest's `vision`
        entry (read from the bundle's manifest when not given)."""
        super().__init__()
        try:
            import onnxruntime as ort
            from transformers import AutoTokenizer
        except ImportError as e:
            raise BackendUnavailableError("onnxruntime", "onnx", str(e)) from None
        path = Path(path)
        if path.is_dir():  # a bundle directory: its manifest names the LM graph
            path = path / manifest_beside(path / MANIFEST).get("model_file", "model.onnx")
        self.path = path
        folder = path.parent
        self.threads = resolve_threads(threads)
        vision = vision if vision is not None else manifest_beside(path).get("vision")
        if not vision:
            raise ModelFormatError(f"{folder}: not a VL bundle (its {MANIFEST} has no 'vision' entry)")
        self.vision = dict(vision)
        genai = read_genai_config(path)
        decoder = genai["decoder"]
        try:
            self.config = json.loads((folder / "config.json").read_text())
            self.tokenizer = AutoTokenizer.from_pretrained(str(folder))
            options = ort.SessionOptions()
            options.intra_op_num_threads = self.threads
            self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            self._vision_session = ort.InferenceSession(str(folder / self.vision["projector_file"]), options,
                                                        providers=["CPUExecutionProvider"])
            self._table = np.load(folder / self.vision.get("embed_file", EMBED_FILE), mmap_mode="r")  # [V, D]
            # int8 rows come with their scales (named by the manifest, else the exporter's default name)
            scales = self.vision.get("embed_scales_file") or (EMBED_SCALES_FILE if self._table.dtype == np.int8
                                                              else None)
            self._scales = np.load(folder / scales) if scales else None  # [V]
            layers = range(int(decoder["num_hidden_layers"]))
            names = decoder["inputs"], decoder["outputs"]
            self._past_names = [names[0][kind] % i for i in layers for kind in ("past_key_names", "past_value_names")]
            self._output_names = [names[1]["logits"], *(names[1][kind] % i for i in layers
                                                        for kind in ("present_key_names", "present_value_names"))]
        except Exception as e:  # protobuf, tokenizer, numpy and JSON errors have no common base
            raise ModelFormatError(f"{path}: onnxruntime could not load the VL model: {e}") from None
        if EMBEDS_INPUT not in {i.name for i in self._session.get_inputs()}:
            raise ModelFormatError(f"{path}: not an LM over {EMBEDS_INPUT}")
        self._kv_heads, self._head_dim = int(decoder["num_key_value_heads"]), int(decoder["head_size"])
        self.n_ctx_train = int(genai["context_length"])
        kv_bytes_per_token = len(self._past_names) * self._kv_heads * self._head_dim * 4
        self.n_ctx = resolve_context_length(n_ctx, self.n_ctx_train, kv_bytes_per_token)
        self.n_vocab = int(genai["vocab_size"])
        if self._table.shape[0] < self.n_vocab:
            raise ModelFormatError(f"{folder}: {self._table.shape[0]} embedding rows for {self.n_vocab} tokens")
        generation = folder / "generation_config.json"
        generation_eos = json.loads(generation.read_text()).get("eos_token_id") if generation.is_file() else None
        self._adopt_tokenizer(self.tokenizer, generation_eos)
        self.image_size = int(self.vision["image_size"])
        self.image_tokens = int(self.vision["image_tokens"])
        token = self.vision.get("image_token", IMAGE_TOKEN)
        self.image_token_id = token if isinstance(token, int) else self.tokenizer.convert_tokens_to_ids(token)
        if self.image_token_id is None or self.image_token_id == self.tokenizer.unk_token_id:
            raise ModelFormatError(f"{folder}: the tokenizer has no image token {token!r}")
        self._past: list[np.ndarray] = []
        self._length = 0

    # ---- embeddings --------------------------------------------------------------------------------
    def _embed(self, token_ids) -> np.ndarray:
        ids = np.asarray(token_ids, dtype=np.int64)
        rows = np.asarray(self._table[ids], dtype=np.float32)  # [T, D]
        return rows * self._scales[ids, None] if self._scales is not None else rows

    def _run_vision(self, images: list) -> np.ndarray:
        batch = np.stack([pixel_values(i, self.image_size, IMAGE_MEAN, IMAGE_STD) for i in images])  # [N, 3, S, S]
        try:
            return self._vision_session.run(None, {PIXELS_INPUT: batch})[0]  # [N, image_tokens, D]
        except Exception as e:
            raise BackendError(f"onnxruntime failed to encode {len(images)} images: {e}") from None

    def _image_embeddings(self, image) -> np.ndarray:
        return self._run_vision([image])[0]  # [image_tokens, D]

    # ---- backend primitives ------------------------------------------------------------------------
    def _feed(self, embeds: np.ndarray, past: list[np.ndarray], past_length: int) -> dict:
        n = embeds.shape[0]
        feed = {
            EMBEDS_INPUT: np.ascontiguousarray(embeds[None], dtype=np.float32),  # [1, T, D]
            # GroupQueryAttention takes the positions from the mask: [1, T_past + T]
            "attention_mask": np.ones((1, past_length + n), dtype=np.int64),
        }
        feed.update(zip(self._past_names, past, strict=True))
        return feed

    def _evaluate_embeds(self, embeds: np.ndarray) -> np.ndarray:
        n = embeds.shape[0]
        try:
            logits, *presents = self._session.run(self._output_names, self._feed(embeds, self._past, self._length))
        except Exception as e:  # onnxruntime raises its own Fail/InvalidArgument types
            raise BackendError(f"onnxruntime failed to evaluate {n} positions: {e}") from None
        self._past, self._length = presents, self._length + n
        return logits[0, -1]  # [V]

    def _empty_past(self) -> list[np.ndarray]:
        return [np.zeros((1, self._kv_heads, 0, self._head_dim), dtype=np.float32)] * len(self._past_names)

    def _evaluate(self, token_ids: list[int]) -> np.ndarray:
        return self._evaluate_embeds(self._embed(token_ids))

    def _prefill_images(self, prompt: str, images: list) -> np.ndarray:
        features = self._run_vision(images) if images else None  # [N, image_tokens, D]
        pieces = self._spliced_prompt(prompt, images, self._embed, lambda k: features[k])
        self._past, self._length = self._empty_past(), 0
        return self._evaluate_embeds(np.concatenate(pieces))  # [T + N * (image_tokens - 1), D]

    def _teacher_forced(self, token_ids: list[int]) -> np.ndarray:
        # one pass from an empty cache gives the logits of every position
        feed = self._feed(self._embed(token_ids), self._empty_past(), 0)
        try:
            return self._session.run(self._output_names[:1], feed)[0][0].astype(np.float32)  # [T, V]
        except Exception as e:  # onnxruntime raises its own Fail/InvalidArgument types
            raise BackendError(f"onnxruntime failed to evaluate {len(token_ids)} positions: {e}") from None

    def _prefill(self, token_ids: list[int]) -> np.ndarray:
        self._past, self._length = self._empty_past(), 0
        return self._evaluate(token_ids)

    def _decode(self, token_id: int) -> np.ndarray:
        return self._evaluate([token_id])

    def info(self) -> EngineInfo:
        manifest = manifest_beside(self.path)
        return EngineInfo(
            backend=self.backend_name,
            path=str(self.path),
            format="onnx",
            quantization=manifest.get("quantization", "unknown"),
            architecture="llava",
            n_params=int(manifest.get("export_report", {}).get("n_params", 0)),
            n_ctx=self.n_ctx,
            n_ctx_train=self.n_ctx_train,
            n_vocab=self.n_vocab,
            threads=self.threads,
        )

    def _free(self) -> None:
        self._session = self._vision_session = None
        self._table = None
        self._past = []
