"""run_isolated: a function in a spawned process, its result or its error back in the caller."""

from __future__ import annotations

import os

import pytest

from training.isolated import run_isolated
from training.sft.errors import SFTError


def add(a: int, b: int, *, times: int = 1) -> int:
    return (a + b) * times


def pid() -> int:
    return os.getpid()


def refuse(message: str) -> None:
    raise SFTError(message)


def bug() -> None:
    raise ZeroDivisionError("a bug")


def die() -> None:
    os._exit(3)


def test_the_result_comes_back_from_another_process():
    assert run_isolated(add, 2, 3, times=4) == 20
    assert run_isolated(pid) != os.getpid()


def test_an_error_of_our_own_comes_back_as_itself_without_a_traceback(capsys):
    with pytest.raises(SFTError, match="bad recipe"):
        run_isolated(refuse, "bad recipe")
    assert "Traceback" not in capsys.readouterr().out


def test_a_bug_comes_back_with_the_child_traceback(capfd):
    with pytest.raises(ZeroDivisionError, match="a bug"):
        run_isolated(bug)
    assert "in bug" in capfd.readouterr().out


def test_a_process_that_dies_is_an_error_not_a_hang():
    with pytest.raises(SFTError, match="exit code 3"):
        run_isolated(die)
