"""Running models: the Engine API and one module per backend (imported only when used)."""

from infir_edge.runtime.engine import Engine, EngineInfo, TextStream
from infir_edge.runtime.generation import Generation, GenerationConfig, Timings
from infir_edge.runtime.loader import BACKENDS, load

__all__ = ["BACKENDS", "Engine", "EngineInfo", "Generation", "GenerationConfig", "TextStream", "Timings", "load"]
