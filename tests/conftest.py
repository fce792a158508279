from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from tiny_models import (  # noqa: E402
    CHAIN,
    write_chain_checkpoint,
    write_tiny_checkpoint,
    write_tiny_family_checkpoint,
    write_tiny_gguf,
    write_tiny_vl_checkpoint,
)


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """Keep the llama.cpp probe cache of the tests away from the user's."""
    patcher = pytest.MonkeyPatch()
    patcher.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
    yield
    patcher.undo()


@pytest.fixture(scope="session")
def default_gguf() -> Path:
    from infir_edge.models.sources import default_model_path

    return default_model_path()


@pytest.fixture(scope="session")
def llama_engine():
    import infir_edge

    with infir_edge.load("default", n_ctx=2048) as engine:
        yield engine


@pytest.fixture(scope="session")
def default_checkpoint(tmp_path_factory) -> Path:
    """The embedded default converted to a Hugging Face checkpoint (~30 s), once per session."""
    from infir_edge.models.convert import gguf_to_checkpoint

    return gguf_to_checkpoint("default", tmp_path_factory.mktemp("checkpoints") / "smollm2-135m")


@pytest.fixture(scope="session")
def torch_engine(default_checkpoint):
    import infir_edge

    with infir_edge.load(default_checkpoint, n_ctx=2048) as engine:
        yield engine


@pytest.fixture(scope="session")
def tiny_gguf(tmp_path_factory) -> Path:
    return write_tiny_gguf(tmp_path_factory.mktemp("tiny") / "tiny.gguf")


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory, default_checkpoint) -> Path:
    return write_tiny_checkpoint(tmp_path_factory.mktemp("tiny") / "tiny-llama", default_checkpoint)


@pytest.fixture(scope="session")
def tiny_family_checkpoint(tmp_path_factory, default_checkpoint):
    """family -> a tiny random-init checkpoint of that family (benchmarks.families), made once a session."""
    made: dict[str, Path] = {}

    def make(family: str) -> Path:
        if family not in made:
            made[family] = write_tiny_family_checkpoint(tmp_path_factory.mktemp("family") / family,
                                                        default_checkpoint, family)
        return made[family]

    return make


@pytest.fixture(scope="session")
def full_precision_bundle(tiny_family_checkpoint, tmp_path_factory):
    """(family, format) -> the tiny family checkpoint exported at full precision (context 256), made once a session;
    exported without force, so a failed verification fails the test that asks for it."""
    from infir_edge.export import export

    full = {"gguf": "f32", "onnx": "fp32", "executorch": "fp32"}
    made: dict[tuple[str, str], Path] = {}

    def make(family: str, fmt: str) -> Path:
        if (family, fmt) not in made:
            made[family, fmt] = export(tiny_family_checkpoint(family), format=fmt, quant=full[fmt],
                                       out=tmp_path_factory.mktemp(fmt) / family, max_context=256)
        return made[family, fmt]

    return make


@pytest.fixture(scope="session")
def chain_model(tmp_path_factory, default_checkpoint):
    """format -> the chain model (tests/tiny_models.py: greedy, a line continues `<<48/2=>> clips`) as a checkpoint
    ("torch") or exported at full precision and verified ("gguf", "onnx", "executorch"), made once a session."""
    from infir_edge.export import export

    checkpoint = write_chain_checkpoint(tmp_path_factory.mktemp("chain") / "checkpoint", default_checkpoint, CHAIN)
    full = {"gguf": "f32", "onnx": "fp32", "executorch": "fp32"}
    made = {"torch": checkpoint}

    def make(fmt: str) -> Path:
        if fmt not in made:
            made[fmt] = export(checkpoint, format=fmt, quant=full[fmt], out=tmp_path_factory.mktemp(fmt) / "chain",
                               max_context=256)
        return made[fmt]

    return make


@pytest.fixture(scope="session")
def tiny_vl_checkpoint(tmp_path_factory, tiny_checkpoint) -> Path:
    """A tiny random-init InfiR-VL checkpoint (LLaVA: SigLIP tower + projector + the tiny LM)."""
    return write_tiny_vl_checkpoint(tmp_path_factory.mktemp("tiny-vl") / "tiny-vl", tiny_checkpoint)
