from __future__ import annotations

import sys
import types

import pytest

from training.eval import runner

MATH = {"accuracy": 0.5, "correct": 1, "items": 2, "sets": {}, "budget": 8}
PPL = {"ppl": 3.0, "tokens_scored": 10, "windows": 1, "slice": "fake"}


def _fake_suite(monkeypatch, name: str, function) -> None:
    module = types.ModuleType(f"fake_{name}")
    module.run = function
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setitem(runner.SUITES, name, (module.__name__, "run"))


def test_an_interrupted_evaluation_keeps_its_finished_suites(monkeypatch, tiny_gguf, tmp_path):
    out = tmp_path / "eval"
    calls = []

    def math(engine, *, limit, progress):
        calls.append("math")
        return MATH, [{"id": 1}]

    def interrupted(engine, *, limit, progress):
        raise KeyboardInterrupt

    _fake_suite(monkeypatch, "math", math)
    _fake_suite(monkeypatch, "ppl", interrupted)
    with pytest.raises(KeyboardInterrupt):
        runner.evaluate(tiny_gguf, suites="math,ppl", out=out, threads=1, progress=False)
    assert not out.exists()

    _fake_suite(monkeypatch, "ppl", lambda engine, *, limit, progress: (PPL, []))
    results = runner.evaluate(tiny_gguf, suites="math,ppl", out=out, threads=1, progress=False)
    assert calls == ["math"]  # not run again
    assert results["suites"] == {"math": MATH, "ppl": PPL}
    assert not (tmp_path / ".eval.suites").exists()


def test_finished_suites_of_another_setting_are_not_reused(tmp_path):
    saved = runner.FinishedSuites(tmp_path / "eval", {"model": "a", "limit": 2})
    saved.add("math", {"accuracy": 1.0}, [], 1.0)
    assert runner.FinishedSuites(tmp_path / "eval", {"model": "a", "limit": 2}).get("math") is not None
    assert runner.FinishedSuites(tmp_path / "eval", {"model": "a", "limit": 3}).get("math") is None
