"""Images on the llama.cpp backend: the bundle's `mmproj.gguf` through llama.cpp's multimodal library (libmtmd).

libmtmd encodes each image with the vision tower + projector and writes the embeddings into the LM's context at
the image's place; the text around it is tokenized by the LM's own tokenizer. The SDK hands it the image already
resized to the tower's square input (`resize_square`, as every backend does), so libmtmd's own resize is the
identity and llama.cpp sees the same pixels as torch. The prompt marks images with `<image>`, which is made
libmtmd's media marker.

Before the file reaches C it is checked here (magic, structure, the `clip.*` keys of the mlp projector, every
tensor's shape against them, the projection width against the LM's), and the llama.cpp backend's child-process
probe loads it and encodes an image once, because `clip.cpp` aborts the process on some damaged files.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from infir_edge.errors import BackendError, ModelFormatError
from infir_edge.models.gguf_header import read_gguf_header
from infir_edge.runtime.chat import IMAGE_PLACEHOLDER

_INT_KEYS = ("clip.vision.image_size", "clip.vision.patch_size", "clip.vision.embedding_length",
             "clip.vision.feed_forward_length", "clip.vision.block_count", "clip.vision.attention.head_count",
             "clip.vision.projection_dim")
_FLOAT_TYPES = ("F32", "F16")  # what the SDK writes; the conv and the position table need one of them anyway


@dataclass(frozen=True)
class MmprojInfo:
    path: Path
    image_size: int
    patch_size: int
    n_embd: int  # the projector's output width: the LM's
    n_layer: int

    @property
    def image_tokens(self) -> int:
        return (self.image_size // self.patch_size) ** 2


def inspect_mmproj(path: str | Path, n_embd_text: int | None = None) -> MmprojInfo:
    """Check a LLaVA-style (`mlp` projector) mmproj file; `ModelFormatError` on anything llama.cpp would choke on."""
    path = Path(path)
    if not path.is_file():
        raise ModelFormatError(f"{path}: the bundle's image projector file is missing")
    header = read_gguf_header(path)
    meta = header.metadata

    def fail(what: str) -> ModelFormatError:
        return ModelFormatError(f"{path}: not a usable image projector (mmproj) file: {what}")

    if meta.get("general.architecture") != "clip":
        raise fail(f"architecture {meta.get('general.architecture')!r}, expected 'clip'")
    if meta.get("clip.has_vision_encoder") is not True:
        raise fail("'clip.has_vision_encoder' is not true")
    if meta.get("clip.projector_type") != "mlp":
        raise fail(f"projector type {meta.get('clip.projector_type')!r}, expected 'mlp' (LLaVA)")
    values = {}
    for key in _INT_KEYS:
        value = meta.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**20:
            raise fail(f"'{key}' must be a positive integer, found {value!r}")
        values[key.rsplit(".", 1)[-1]] = value
    eps = meta.get("clip.vision.attention.layer_norm_epsilon")
    if not isinstance(eps, float) or not 0 < eps < 1:
        raise fail(f"'clip.vision.attention.layer_norm_epsilon' must be a small positive float, found {eps!r}")
    for key in ("clip.vision.image_mean", "clip.vision.image_std"):
        value = meta.get(key)
        if not isinstance(value, list) or len(value) != 3 or not all(isinstance(v, float) for v in value):
            raise fail(f"'{key}' must be 3 floats, found {value!r}")
    if not all(v > 0 for v in meta["clip.vision.image_std"]):
        raise fail("'clip.vision.image_std' must be positive")
    size, patch, d, ff = values["image_size"], values["patch_size"], values["embedding_length"], \
        values["feed_forward_length"]
    n_layer, n_head, n_embd = values["block_count"], values["head_count"], values["projection_dim"]
    if patch > size:  # not a multiple is fine: SigLIP-so400m's 14 px patches tile 378 of its 384 px
        raise fail(f"patch size {patch} is larger than the image size {size}")
    if d % n_head:
        raise fail(f"embedding length {d} is not a multiple of the {n_head} heads")
    if ff == d:
        raise fail("feed_forward_length equals embedding_length (llama.cpp would swap ffn_up and ffn_down)")
    if n_embd_text is not None and n_embd != n_embd_text:
        raise fail(f"it projects to width {n_embd} but the language model's is {n_embd_text} (the wrong projector?)")
    layer = meta.get("clip.vision.feature_layer")
    if layer is not None and not (isinstance(layer, list) and len(layer) == 1 and isinstance(layer[0], int)
                                  and 0 < layer[0] <= n_layer):
        raise fail(f"'clip.vision.feature_layer' must name one of the {n_layer} layers, found {layer!r}")

    n_patches = (size // patch) ** 2
    tensors = {t.name: t for t in header.tensors}
    first = tensors.get("mm.0.weight")
    hidden = first.shape[1] if first is not None and len(first.shape) == 2 else 0  # a wrong shape fails below
    expected = {
        "v.patch_embd.weight": (patch, patch, 3, d), "v.patch_embd.bias": (d,),
        "v.position_embd.weight": (d, n_patches),
        "mm.0.weight": (d, hidden), "mm.0.bias": (hidden,), "mm.2.weight": (hidden, n_embd), "mm.2.bias": (n_embd,),
    }
    for i in range(n_layer):
        for name, shape in (("attn_q", (d, d)), ("attn_k", (d, d)), ("attn_v", (d, d)), ("attn_out", (d, d)),
                            ("ln1", (d,)), ("ln2", (d,)), ("ffn_up", (d, ff)), ("ffn_down", (ff, d))):
            expected[f"v.blk.{i}.{name}.weight"] = shape
            expected[f"v.blk.{i}.{name}.bias"] = shape[-1:] if len(shape) == 2 else shape
    for name, shape in expected.items():
        tensor = tensors.get(name)
        if tensor is None:
            raise fail(f"tensor '{name}' is missing")
        if tensor.shape != shape:
            raise fail(f"tensor '{name}' has shape {tensor.shape}, expected {shape}")
        if tensor.ggml_type.name not in _FLOAT_TYPES:
            raise fail(f"tensor '{name}' is {tensor.ggml_type.name} (the SDK writes projectors in f16 or f32)")
    return MmprojInfo(path, size, patch, n_embd, n_layer)


def _import_mtmd():
    import llama_cpp
    import llama_cpp._logger
    from llama_cpp import mtmd_cpp

    # libmtmd logs through the same filter as llama.cpp (quiet unless llama-cpp-python is verbose)
    mtmd_cpp.mtmd_log_set(llama_cpp._logger.llama_log_callback, ctypes.c_void_p(0))
    mtmd_cpp.mtmd_helper_log_set(llama_cpp._logger.llama_log_callback, ctypes.c_void_p(0))
    return llama_cpp, mtmd_cpp


class MtmdVision:
    """A libmtmd context over a loaded `llama_cpp.Llama`: prompt-with-images prefill and image embeddings."""

    def __init__(self, info: MmprojInfo, llm, threads: int) -> None:
        self.info = info
        self._llama_cpp, self._mtmd = _import_mtmd()
        params = self._mtmd.mtmd_context_params_default()
        params.use_gpu = False
        params.print_timings = False
        params.n_threads = threads
        self._marker = IMAGE_PLACEHOLDER.encode()  # kept alive: the context keeps the pointer
        params.media_marker = self._marker
        params.warmup = False  # the first image sizes the compute buffers; a warm-up encode only costs load time
        self._ctx = self._mtmd.mtmd_init_from_file(str(info.path).encode(), llm.model, params)
        if not self._ctx:
            raise ModelFormatError(f"{info.path}: llama.cpp could not load the image projector")
        if not self._mtmd.mtmd_support_vision(self._ctx):
            self.close()
            raise ModelFormatError(f"{info.path}: llama.cpp loaded the projector but it takes no images")

    def close(self) -> None:
        if self._ctx:
            self._mtmd.mtmd_free(self._ctx)
            self._ctx = None

    def _bitmap(self, image):
        from infir_edge.models.images import resize_square

        size = self.info.image_size
        rgb = resize_square(image, size).tobytes()  # [S, S, 3] uint8: libmtmd's own resize is then the identity
        bitmap = self._mtmd.mtmd_bitmap_init(size, size, (ctypes.c_uint8 * len(rgb)).from_buffer_copy(rgb))
        if not bitmap:
            raise BackendError("llama.cpp could not take the image")
        return bitmap

    def _tokenize(self, text: str, images: list, add_special: bool):
        """libmtmd's chunks of `text` with each IMAGE_PLACEHOLDER standing for the next image; free them after."""
        mtmd = self._mtmd
        bitmaps = [self._bitmap(image) for image in images]
        chunks = mtmd.mtmd_input_chunks_init()
        try:
            data = text.encode("utf-8")
            text_input = mtmd.mtmd_input_text(data, len(data), add_special, True)  # parse_special: <|im_start|>
            array = (mtmd.mtmd_bitmap_p_ctypes * len(bitmaps))(*bitmaps)
            status = mtmd.mtmd_tokenize(self._ctx, chunks, ctypes.byref(text_input), array, len(bitmaps))
        finally:
            for bitmap in bitmaps:
                mtmd.mtmd_bitmap_free(bitmap)
        if status != 0:
            mtmd.mtmd_input_chunks_free(chunks)
            raise BackendError(f"llama.cpp could not tokenize the prompt with {len(images)} images (status {status})")
        return chunks

    def prefill(self, llm, text: str, images: list, add_special: bool) -> np.ndarray:
        """Evaluate the prompt with its images from an empty cache; the last position's logits `[V]`."""
        mtmd, llama_cpp = self._mtmd, self._llama_cpp
        chunks = self._tokenize(text, images, add_special)
        try:
            n = mtmd.mtmd_input_chunks_size(chunks)
            last = mtmd.mtmd_input_chunks_get(chunks, n - 1) if n else None
            if last is None or mtmd.mtmd_input_chunk_get_type(last) != mtmd.MTMD_INPUT_CHUNK_TYPE_TEXT:
                raise BackendError("a prompt with images must end with text (the chat template's generation prompt)")
            llm.n_tokens = 0
            llm._ctx.kv_cache_seq_rm(-1, 0, -1)
            n_past = llama_cpp.llama_pos(0)
            status = mtmd.mtmd_helper_eval_chunks(self._ctx, llm.ctx, chunks, 0, 0, llm.n_batch, True,
                                                  ctypes.byref(n_past))
        finally:
            mtmd.mtmd_input_chunks_free(chunks)
        if status != 0:
            llm._ctx.kv_cache_seq_rm(-1, 0, -1)
            raise BackendError(f"llama.cpp failed to evaluate the prompt with its images (status {status})")
        llm.n_tokens = n_past.value  # Llama.eval continues from here
        pointer = llama_cpp.llama_get_logits_ith(llm.ctx, -1)
        return np.ctypeslib.as_array(pointer, shape=(llm.n_vocab(),))  # [V], valid until the next eval

    def embeddings(self, image) -> np.ndarray:
        """What the tower and projector make of one image, `[image_tokens, n_embd]`."""
        mtmd = self._mtmd
        chunks = self._tokenize(IMAGE_PLACEHOLDER, [image], add_special=False)
        try:
            for i in range(mtmd.mtmd_input_chunks_size(chunks)):
                chunk = mtmd.mtmd_input_chunks_get(chunks, i)
                if mtmd.mtmd_input_chunk_get_type(chunk) == mtmd.MTMD_INPUT_CHUNK_TYPE_IMAGE:
                    break
            else:
                raise BackendError("llama.cpp made no image chunk of the image")
            n_tokens = mtmd.mtmd_input_chunk_get_n_tokens(chunk)
            if mtmd.mtmd_encode_chunk(self._ctx, chunk) != 0:
                raise BackendError("llama.cpp failed to encode the image")
            pointer = mtmd.mtmd_get_output_embd(self._ctx)
            return np.ctypeslib.as_array(pointer, shape=(n_tokens, self.info.n_embd)).copy()
        finally:
            mtmd.mtmd_input_chunks_free(chunks)


def probe(llm, mmproj: str) -> None:
    """In the probe's child process: load the projector over `llm`, encode an image, evaluate a prompt with it."""
    from PIL import Image

    vision = MtmdVision(inspect_mmproj(mmproj, llm.n_embd()), llm, threads=1)
    image = Image.new("RGB", (vision.info.image_size, vision.info.image_size), (127, 64, 200))
    vision.embeddings(image)
    logits = vision.prefill(llm, f"{IMAGE_PLACEHOLDER}\nWhat is this?", [image], add_special=True)
    llm.eval([int(np.argmax(logits))])
    vision.close()
