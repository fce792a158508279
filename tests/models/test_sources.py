"""Model names and paths resolve to a format by the file's content, not its name."""

from __future__ import annotations

import pytest

from infir_edge.errors import ModelFormatError, ModelNotFoundError
from infir_edge.models.sources import resolve_model


def test_default_is_the_packaged_gguf():
    source = resolve_model("default")
    assert source.format == "gguf"
    assert source.path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"


def test_missing_path(tmp_path):
    with pytest.raises(ModelNotFoundError):
        resolve_model(tmp_path / "nope.gguf")


@pytest.mark.parametrize("name", ["model.onnx", "model.pte", "model.gguf", "model.bin"])
def test_text_file_with_a_model_name_is_refused(tmp_path, name):
    (tmp_path / name).write_text("this is not a model, just some text\n")
    with pytest.raises(ModelFormatError):
        resolve_model(tmp_path / name)


def test_empty_file_is_refused(tmp_path):
    (tmp_path / "model.gguf").write_bytes(b"")
    with pytest.raises(ModelFormatError, match="empty"):
        resolve_model(tmp_path / "model.gguf")


def test_directory_without_config_is_refused(tmp_path):
    with pytest.raises(ModelFormatError, match="config.json"):
        resolve_model(tmp_path)


def test_gguf_magic_wins_over_the_extension(tiny_gguf, tmp_path):
    renamed = tmp_path / "weights.bin"
    renamed.write_bytes(tiny_gguf.read_bytes())
    assert resolve_model(renamed).format == "gguf"
