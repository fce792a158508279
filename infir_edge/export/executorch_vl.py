"""InfiR-VL (`LlavaForConditionalGeneration`) -> one ExecuTorch `.pte` in the layout of ExecuTorch's own
`MultimodalRunner` (extension/llm/runner: the Android/iOS LLaVA demo apps' runner).

The program has the three methods that runner calls, by the names in its `constants.h`:

- `vision_encoder(image [1, 3, S, S] uint8) -> [1, image_tokens, D]`: RGB bytes of the image already resized to
  the tower's S x S input (bicubic, as `infir_edge.models.images.resize_square`), scaled to [0, 1] and normalized
  inside the program (so it computes `pixel_values` itself), then the SigLIP tower up to `vision_feature_layer`
  (every patch: the "full" strategy) and the 2-layer projector, the function `get_image_features` computes.
  The runner checks the first input's dtype and passes a uint8 `Image` as it is (no resizing, no normalization).
- `token_embedding(tokens [1, T] int64) -> [1, T, D]`: the LM's embedding table.
- `text_decoder(embeddings [1, T, D], input_pos [1] int64) -> logits [1, V]`: the LM over embeddings with its KV
  cache in mutable buffers, the last position's logits. This is the model `export/executorch.py` gets from
  export_llm (executorch's Llama definition set up for the LM's family, the custom SDPA and KV-cache ops, the
  same torchao quantization of the Linears, lowered to XNNPACK), fed embeddings instead of tokens.

and the constant methods the runner reads (`get_max_seq_len`, which it requires, `get_max_context_len`,
`use_kv_cache`, `enable_dynamic_shape`, `use_sdpa_with_kv_cache`, `get_eos_ids`, ...) plus `get_bos_id` and
`get_vocab_size` (the runner takes those two from its tokenizer; the SDK reads them here). The runner prefills
each input it is given with one `text_decoder` call, so `get_max_seq_len - 1` (the token dimension's bound) is
at least `image_tokens`.
"""

from __future__ import annotations

import copy
from pathlib import Path

from infir_edge.errors import BackendError, InvalidRequestError
from infir_edge.export.executorch import eos_ids, lm_checkpoint, require_executorch, write_tokenizer_files
from infir_edge.export.source import split_vl_model

RECIPE = 1
BUNDLE_FORMAT = "pte"
MODEL_FILE = "model.pte"
WRITES_LANGUAGE_MODEL = True  # the program's text_decoder takes embeddings: this module writes the LM too
QUANTS = ("fp32", "8da8w", "8da4w")  # the LM's Linears (the head 8da8w); tower, projector, embeddings stay fp32
VISION_METHOD = "vision_encoder"  # ExecuTorch's kVisionEncoderMethod, kTokenEmbeddingMethod, kTextModelMethod
EMBEDDING_METHOD = "token_embedding"
DECODER_METHOD = "text_decoder"
MAX_SEQ_LEN = 512  # the token dimension's bound (less one), as export/executorch.py; raised to fit an image
IMAGE_INPUT = "uint8 RGB [1, 3, S, S], resized to S x S; normalized inside the program"


def write_vl(model, tokenizer, bundle: Path, quant: str, n_ctx: int, *, awq: bool = True) -> dict:
    """Export the LLaVA `model` and its `tokenizer` (with `<image>`) into the directory `bundle`: `model.pte`
    (the three methods and the metadata), `tokenizer.json` as ExecuTorch's C++ tokenizer loads it, the HF
    tokenizer files and `generation_config.json`.

    Returns the report: `vision` (what a manifest's `vision` holds: projector_file, image_size, image_tokens,
    image_token, plus the method names and the image input), `image_tokens`, `max_seq_len`, `methods`,
    `metadata` (the constant methods), `files` and the LM's quantization details as `export/executorch.py`
    reports them."""
    torch = require_executorch()
    from infir_edge.models.vl import IMAGE_MEAN, IMAGE_STD, IMAGE_TOKEN

    if quant not in QUANTS:
        raise InvalidRequestError(f"the ExecuTorch VL export quantizes to one of {', '.join(QUANTS)}, got {quant!r}")
    if model.config.vision_feature_select_strategy != "full":
        raise InvalidRequestError("the ExecuTorch VL export takes every patch (vision_feature_select_strategy 'full')")
    if next(model.parameters()).dtype != torch.float32:
        model = copy.deepcopy(model).float()
    model.eval()
    bundle = Path(bundle)
    image_tokens = int(model.config.image_seq_length)
    image_size = int(model.config.vision_config.image_size)
    if n_ctx <= image_tokens:
        raise InvalidRequestError(f"a context of {n_ctx} tokens cannot hold one image ({image_tokens} tokens)")
    max_seq_len = min(n_ctx, max(MAX_SEQ_LEN, image_tokens + 1))
    # the LM alone, as a causal LM of its family (what lm_checkpoint and its AWQ pass read)
    meta, params, quantization = lm_checkpoint(split_vl_model(model), tokenizer, quant, awq=awq)
    report: dict = {"max_context_length": n_ctx, "max_seq_len": max_seq_len, **quantization}
    metadata = {
        "get_max_seq_len": max_seq_len,
        "get_max_context_len": n_ctx,
        "get_n_layers": params["n_layers"],
        "get_vocab_size": params["vocab_size"],
        "use_kv_cache": True,
        "use_sdpa_with_kv_cache": True,
        "enable_dynamic_shape": True,
        "get_bos_id": tokenizer.bos_token_id or 0,
        "get_eos_ids": eos_ids(model, tokenizer),
    }
    decoder, embedding = _text_decoder(meta, params, max_seq_len, n_ctx)
    vision = _vision_encoder(model, IMAGE_MEAN, IMAGE_STD).eval()
    try:
        program = _lower(decoder, embedding, vision, params["dim"], image_size, max_seq_len, metadata)
    except Exception as e:  # torch.export and the lowering raise many kinds
        raise BackendError(f"ExecuTorch could not export the VL model: {type(e).__name__}: {e}") from None
    with open(bundle / MODEL_FILE, "wb") as f:
        program.write_to_file(f)

    write_tokenizer_files(tokenizer, bundle)
    model.generation_config.to_json_file(bundle / "generation_config.json")

    report.update(
        vision={"projector_file": MODEL_FILE, "image_size": image_size, "image_tokens": image_tokens,
                "image_token": IMAGE_TOKEN, "vision_method": VISION_METHOD, "embedding_method": EMBEDDING_METHOD,
                "decoder_method": DECODER_METHOD, "image_input": IMAGE_INPUT},
        image_tokens=image_tokens, embedding_dim=int(params["dim"]), methods=sorted(program.methods),
        metadata=metadata,
        files=sorted(p.name for p in bundle.iterdir() if p.is_file()),
    )
    return report


def write_vision(source, bundle: Path, quant: str, n_ctx: int, *, awq: bool = True) -> tuple[dict, dict]:
    """`export()`'s entry for an InfiR-VL source: the whole `.pte` bundle; (the report, the manifest's vision entry)."""
    report = write_vl(source.vl_model, source.tokenizer, bundle, quant, n_ctx, awq=awq)
    return report, report["vision"]


def _text_decoder(meta: dict, params: dict, max_seq_len: int, n_ctx: int):
    """executorch's Llama over embeddings as export_llm builds it (KV cache, custom SDPA and KV-cache ops, the
    checkpoint's torchao tensors kept as they are), and its embedding table as a module of its own."""
    import torch
    from executorch.examples.models.llama.llama_transformer import construct_transformer
    from executorch.examples.models.llama.model_args import ModelArgs
    from executorch.examples.models.llama.source_transformation.custom_kv_cache import (
        replace_kv_cache_with_custom_kv_cache,
    )
    from executorch.examples.models.llama.source_transformation.sdpa import replace_sdpa_with_custom_op
    from torchao.utils import TorchAOBaseTensor

    args = ModelArgs(max_seq_len=max_seq_len, max_context_len=n_ctx, max_batch_size=1, use_kv_cache=True,
                     use_sdpa_with_kv_cache_op=True, generate_full_logits=False, enable_dynamic_shape=True, **params)
    transformer = construct_transformer(args)
    missing, _ = transformer.load_state_dict(meta, strict=False, assign=True)
    if any(name.endswith(".weight") for name in missing):
        raise BackendError(f"the Meta-format checkpoint lacks {[n for n in missing if n.endswith('.weight')]}")
    for param in transformer.parameters():
        if isinstance(param, TorchAOBaseTensor):
            param.requires_grad = False
    # export_llm's order: the SDPA first, then the KV cache
    transformer = replace_kv_cache_with_custom_kv_cache(replace_sdpa_with_custom_op(transformer))
    transformer = transformer.to(dtype=torch.float32).eval()

    class TextDecoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, embeddings, input_pos):  # [1, T, D], [1] -> [1, V]
            return self.transformer(None, {"input_pos": input_pos}, embeddings)

    class TokenEmbedding(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.table = transformer.tok_embeddings

        def forward(self, tokens):  # [1, T] -> [1, T, D]
            return self.table(tokens)

    embedding = TokenEmbedding().eval()
    transformer.tok_embeddings = None  # the decoder takes embeddings: the table lives in token_embedding only
    return TextDecoder().eval(), embedding


def _vision_encoder(llava, mean, std):
    """uint8 RGB `[1, 3, S, S]` -> the projected patch features `[1, image_tokens, D]`: `pixel_values`'s scaling
    and normalization, then the tower's embeddings and the encoder layers up to `vision_feature_layer` (the
    later layers and the pooling head are left out of the program) and the projector."""
    import torch

    class VisionEncoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            tower = llava.model.vision_tower
            tower = getattr(tower, "vision_model", tower)  # SiglipVisionModel -> SiglipVisionTransformer
            n_layers = len(tower.encoder.layers)
            feature_layers = llava.config.vision_feature_layer
            feature_layers = [feature_layers] if isinstance(feature_layers, int) else list(feature_layers)
            # hidden_states[i]: the embeddings (i = 0) or the output of encoder layer i - 1
            self.feature_layers = [i % (n_layers + 1) for i in feature_layers]
            self.embeddings = tower.embeddings
            self.layers = torch.nn.ModuleList(tower.encoder.layers[: max(self.feature_layers)])
            self.projector = llava.model.multi_modal_projector
            self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1))
            self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1))

        def forward(self, image):
            pixels = (image.to(torch.float32) / 255.0 - self.mean) / self.std  # as images.normalize
            hidden = [self.embeddings(pixels)]
            for layer in self.layers:
                out = layer(hidden[-1], None)
                hidden.append(out[0] if isinstance(out, tuple) else out)
            return self.projector(torch.cat([hidden[i] for i in self.feature_layers], dim=-1))

    return VisionEncoder()


def _lower(decoder, embedding, vision, dim: int, image_size: int, max_seq_len: int, metadata: dict):
    """torch.export each method (the decoder through export_llm's own LLMEdgeManager steps) and lower them
    together to one program: XNNPACK for the decoder (dynamically quantized Linears first, as export_llm
    partitions) and the vision encoder, the portable embedding kernel for the table."""
    import torch
    from executorch.backends.xnnpack._passes.convert_to_linear import ConvertToLinearPass
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import EdgeCompileConfig, ExecutorchBackendConfig, to_edge_transform_and_lower
    from executorch.exir.passes import MemoryPlanningPass
    from executorch.exir.passes.sym_shape_eval_pass import ConstraintBasedSymShapeEvalPass
    from executorch.extension.llm.export.builder import DType, LLMEdgeManager
    from executorch.extension.llm.export.partitioner_lib import get_xnnpack_partitioner
    from torch.nn.attention import SDPBackend

    tokens = torch.export.Dim("token_dim", max=max_seq_len - 1)
    manager = LLMEdgeManager(
        model=decoder, modelname=DECODER_METHOD, max_seq_len=max_seq_len, use_kv_cache=True, dtype=DType.fp32,
        example_inputs=(torch.zeros(1, 3, dim), torch.tensor([0], dtype=torch.long)),
        enable_dynamic_shape=True, dynamic_shapes=({1: tokens}, None),
    ).export()
    manager.run_canonical_optimizations()
    with torch.nn.attention.sdpa_kernel([SDPBackend.MATH]), torch.no_grad():
        programs = {
            DECODER_METHOD: manager._export(manager.pre_autograd_graph_module),
            EMBEDDING_METHOD: torch.export.export(embedding, (torch.zeros(1, 3, dtype=torch.long),),
                                                  dynamic_shapes=({1: tokens},), strict=True),
            VISION_METHOD: torch.export.export(vision, (torch.zeros(1, 3, image_size, image_size, dtype=torch.uint8),),
                                               strict=False),
        }
    edge = to_edge_transform_and_lower(
        programs,
        partitioner={
            DECODER_METHOD: [get_xnnpack_partitioner(dynamic_quant_only_partitioner=True),
                             get_xnnpack_partitioner(dynamic_quant_only_partitioner=False)],
            VISION_METHOD: [XnnpackPartitioner()],
            EMBEDDING_METHOD: [],
        },
        constant_methods=metadata,
        compile_config=EdgeCompileConfig(_check_ir_validity=False, _skip_dim_order=True),
    )
    edge = edge.transform([ConvertToLinearPass()])
    return edge.to_executorch(ExecutorchBackendConfig(
        extract_delegate_segments=True,
        do_quant_fusion_and_const_prop=True,
        memory_planning_pass=MemoryPlanningPass(alloc_graph_input=False),
        sym_shape_eval_pass=ConstraintBasedSymShapeEvalPass(),
    ))
