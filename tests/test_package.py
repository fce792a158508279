"""The SDK core imports and runs GGUF models without torch; missing backends name their extra."""

from __future__ import annotations

import subprocess
import sys

BLOCK_TORCH = "import sys; sys.modules['torch'] = None; sys.modules['transformers'] = None\n"


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)


def test_core_runs_the_default_model_without_torch():
    proc = _python(
        BLOCK_TORCH
        + "import infir_edge\n"
        + "e = infir_edge.load('default', n_ctx=256)\n"
        + "print(e.generate('The capital of France is', max_new_tokens=4).text)\n"
        + "assert sys.modules['torch'] is None\n"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip()


def test_missing_llama_cpp_names_the_extra():
    proc = _python(
        "import sys; sys.modules['llama_cpp'] = None\n"
        "import infir_edge\n"
        "try:\n"
        "    infir_edge.load('default')\n"
        "except infir_edge.BackendUnavailableError as e:\n"
        "    print(e)\n"
    )
    assert "pip install 'infir-edge[llamacpp]'" in proc.stdout, proc.stderr


def test_public_names():
    import infir_edge

    for name in ("load", "Engine", "GenerationConfig", "Generation", "InfirEdgeError", "ContextOverflowError"):
        assert hasattr(infir_edge, name)
