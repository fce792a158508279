"""Arithmetic word problems for SFT: seeds, Evol-Instruct evolution, and held-out test sets.

A problem is a small program over a running quantity (program.py), drawn (draw.py) and rendered (render.py) from
situation families and phrasings that each carry a train/test split (phrasing.py, families_*.py, generic.py), so a
test set's wording (and some of its situations) never appear in training. `solve` writes the worked solution the
model is trained on; `evolve` applies Evol-Instruct's operators to the program and re-renders it.
"""

from __future__ import annotations

from .drills import arithmetic_drills
from .evolve import EVOLUTIONS, evolve
from .generate import generate_problems
from .problem import TIERS, Tier, WordProblem, numbers_in
from .solve import STYLES, solve

__all__ = [
    "EVOLUTIONS",
    "STYLES",
    "TIERS",
    "Tier",
    "WordProblem",
    "arithmetic_drills",
    "evolve",
    "generate_problems",
    "numbers_in",
    "solve",
]
