"""InfiR-VL to ExecuTorch: the tiny VL checkpoint exported in fp32 to one `.pte` runs in the SDK with images as
torch does, and ExecuTorch's own MultimodalRunner generates the same text from the same file."""

from __future__ import annotations

import json

import numpy as np
import pytest

from infir_edge.export.executorch_vl import DECODER_METHOD, EMBEDDING_METHOD, MODEL_FILE, VISION_METHOD
from infir_edge.models.vl import load_vl_checkpoint, save_vl_checkpoint
from infir_edge.runtime.chat import split_images
from infir_edge.runtime.executorch_vl import ExecuTorchVLEngine
from infir_edge.runtime.pytorch_vl import TorchVLEngine

N_CTX = 256
GREEDY = {"max_new_tokens": 6, "temperature": 0, "ignore_eos": True}


def _image(seed: int, size=(90, 120)):
    from PIL import Image

    pixels = np.random.default_rng(seed).integers(0, 256, (*size, 3), dtype=np.uint8)
    return Image.fromarray(pixels)


def _messages(*images, text="What is on the screen?"):
    parts = [{"type": "image", "image": i} for i in images]
    return [{"role": "user", "content": [*parts, {"type": "text", "text": text}]}]


@pytest.fixture(scope="module")
def vl_checkpoint(tiny_vl_checkpoint, tmp_path_factory):
    """The tiny VL checkpoint with its LM's matrices scaled up 6x: the random-init LM answers "\\n" to every prompt
    and image, so greedy tokens would agree however wrong the image path; this one's tokens depend on the image."""
    import torch

    model, tokenizer = load_vl_checkpoint(tiny_vl_checkpoint)
    with torch.no_grad():
        for weight in model.model.language_model.layers.parameters():
            if weight.dim() == 2:
                weight.mul_(6)
    return save_vl_checkpoint(model, tokenizer, tmp_path_factory.mktemp("vl-pte") / "sharp-vl")


@pytest.fixture(scope="module")
def vl_bundle(vl_checkpoint, tmp_path_factory):
    """The fp32 export through `export()` (verified against the checkpoint) and its report."""
    from infir_edge.export import export

    bundle = export(vl_checkpoint, format="executorch", quant="fp32", out=tmp_path_factory.mktemp("vl-pte") / "fp32",
                    max_context=N_CTX, threads=1)
    return bundle, json.loads((bundle / "manifest.json").read_text())["export_report"]


def test_export_verifies_the_image_path_and_load_takes_images(vl_bundle):
    import infir_edge

    manifest = json.loads((vl_bundle[0] / "manifest.json").read_text())
    assert manifest["verification"]["passed"] and manifest["verification"]["vision"]["min_cosine"] > 0.9999
    with infir_edge.load(vl_bundle[0], threads=1) as engine:
        assert engine.supports_images and engine.backend_name == "executorch"


@pytest.fixture(scope="module")
def engines(vl_checkpoint, vl_bundle):
    with TorchVLEngine(vl_checkpoint, n_ctx=N_CTX, threads=1) as torch_engine, \
            ExecuTorchVLEngine(vl_bundle[0] / MODEL_FILE, threads=1) as pte_engine:
        yield torch_engine, pte_engine


def test_the_program_has_the_multimodal_runners_methods(vl_bundle):
    import executorch.extension.llm.custom_ops.custom_ops  # noqa: F401
    from executorch.runtime import Runtime

    bundle, report = vl_bundle
    assert {MODEL_FILE, "tokenizer.json", "tokenizer_config.json", "generation_config.json"} <= set(report["files"])
    assert {k: report["vision"][k] for k in ("projector_file", "image_size", "image_tokens", "image_token")} == {
        "projector_file": MODEL_FILE, "image_size": 64, "image_tokens": 16, "image_token": "<image>"}
    program = Runtime.get().load_program(bundle / MODEL_FILE)
    assert {VISION_METHOD, EMBEDDING_METHOD, DECODER_METHOD} <= program.method_names
    constants = {name: program.load_method(name).execute([])[0] for name in program.method_names
                 if name.startswith(("get_", "use_"))}
    assert constants["get_max_context_len"] == N_CTX and constants["get_max_seq_len"] - 1 >= 16
    assert constants["use_kv_cache"] and constants["get_eos_ids"] == 2 and constants["get_vocab_size"] == 49153
    image = program.metadata(VISION_METHOD).input_tensor_meta(0)
    assert list(image.sizes()) == [1, 3, 64, 64] and image.dtype() == 0  # uint8: the program normalizes


def test_image_embeddings_match_torch(engines):
    torch_engine, pte_engine = engines
    image = _image(0)
    expected, got = torch_engine.image_embeddings(image), pte_engine.image_embeddings(image)
    assert got.shape == expected.shape == (16, 64)
    error = float(np.abs(got - expected).max())
    print(f"image embeddings max abs error {error:.3g} (largest value {np.abs(expected).max():.3g})")
    assert error < 2e-5


def test_image_prompt_logits_and_greedy_tokens_match_torch(engines):
    torch_engine, pte_engine = engines
    images = [_image(1), _image(2, (200, 100))]
    flat, _ = split_images(_messages(*images))
    prompt = torch_engine.apply_chat_template(flat)
    expected = torch_engine._prefill_images(prompt, images)
    got = pte_engine._prefill_images(prompt, images)
    error = float(np.abs(got - expected).max())
    print(f"image prompt logits max abs error {error:.3g}")
    assert error < 1e-3
    other = pte_engine._prefill_images(prompt, [_image(3), images[1]])
    assert float(np.abs(other - got).max()) > 100 * error  # the image positions matter

    answers = []
    for image in images:
        reference = torch_engine.generate(_messages(image), **GREEDY)
        generation = pte_engine.generate(_messages(image), **GREEDY)
        assert generation.token_ids == reference.token_ids and len(generation.token_ids) == 6
        assert generation.timings.prompt_tokens == reference.timings.prompt_tokens
        answers.append(reference.token_ids)
    assert answers[0] != answers[1]  # the answer depends on the image: the agreement is not a constant answer's


def test_text_only_prompts_run_as_before(engines):
    torch_engine, pte_engine = engines
    expected = torch_engine.generate("Hello there", **GREEDY).token_ids
    assert pte_engine.generate("Hello there", **GREEDY).token_ids == expected
    ids = torch_engine.tokenize("The quick brown fox jumps")
    assert np.abs(pte_engine.teacher_forced_logits(ids) - torch_engine.teacher_forced_logits(ids)).max() < 1e-4


def test_executorch_multimodal_runner_generates_from_an_image(engines, vl_bundle):
    """The file is the runner's format: ExecuTorch's C++ MultimodalRunner loads it with the bundle's tokenizer.json
    and, fed the prompt's tokens around the image's bytes, generates what the SDK generates."""
    import executorch.extension.llm.custom_ops.custom_ops  # noqa: F401
    import executorch.kernels.quantized  # noqa: F401
    import torch
    from executorch.extension.llm.runner import GenerationConfig, MultimodalRunner, make_image_input, make_token_input

    _, pte_engine = engines
    bundle = vl_bundle[0]
    runner = MultimodalRunner(str(bundle / MODEL_FILE), str(bundle / "tokenizer.json"))
    for image in (_image(1), _image(4)):
        flat, _ = split_images(_messages(image))
        ids = pte_engine.tokenize(pte_engine.apply_chat_template(flat))
        at = ids.index(pte_engine.image_token_id)
        inputs = [make_token_input(ids[:at]), make_image_input(torch.from_numpy(pte_engine.image_input(image))),
                  make_token_input(ids[at + 1 :])]
        pieces: list[str] = []
        runner.reset()
        runner.generate(inputs, GenerationConfig(max_new_tokens=6, temperature=0.0, echo=False),
                        token_callback=pieces.append)
        expected = pte_engine.generate(_messages(image), max_new_tokens=6, temperature=0)
        assert len(pieces) == 6 and "".join(pieces) == expected.text


def test_the_engine_loads_from_the_bundle_directory(vl_bundle):
    with ExecuTorchVLEngine(vl_bundle[0], threads=1) as engine:
        assert engine.supports_images and engine.image_tokens == 16 and engine.image_size == 64
        info = engine.info()
        assert info.backend == "executorch" and info.format == "pte" and info.architecture == "llava"
        assert info.n_ctx == N_CTX
