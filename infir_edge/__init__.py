"""InfiR Edge: small reasoning models on phones and edge devices.

    import infir_edge
    with infir_edge.load("default") as engine:
        print(engine.generate("The capital of France is", max_new_tokens=12).text)
"""

from infir_edge.errors import (
    BackendError,
    BackendUnavailableError,
    ContextOverflowError,
    InfirEdgeError,
    InvalidRequestError,
    ModelFormatError,
    ModelNotFoundError,
)
from infir_edge.runtime import Engine, EngineInfo, Generation, GenerationConfig, TextStream, Timings, load
from infir_edge.tools import ToolCall

__version__ = "0.1.0"

__all__ = [
    "BackendError",
    "BackendUnavailableError",
    "ContextOverflowError",
    "Engine",
    "EngineInfo",
    "Generation",
    "GenerationConfig",
    "InfirEdgeError",
    "InvalidRequestError",
    "ModelFormatError",
    "ModelNotFoundError",
    "TextStream",
    "Timings",
    "ToolCall",
    "load",
]
