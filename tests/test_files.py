"""Atomic writes: nothing half-written is ever visible, nothing is replaced without asking."""

from __future__ import annotations

import os

import pytest

from infir_edge.errors import InvalidRequestError
from infir_edge.files import atomic_directory, atomic_write_text


def test_failed_write_leaves_no_directory(tmp_path):
    with pytest.raises(RuntimeError), atomic_directory(tmp_path / "out") as tmp:
        (tmp / "half").write_text("x")
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_existing_directory_is_kept_without_overwrite(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "mine").write_text("user data")
    with pytest.raises(InvalidRequestError), atomic_directory(tmp_path / "out"):
        pass
    assert (tmp_path / "out" / "mine").read_text() == "user data"


def test_overwrite_replaces_only_when_complete(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "old").write_text("old")
    with atomic_directory(tmp_path / "out", overwrite=True) as tmp:
        (tmp / "new").write_text("new")
        assert (tmp_path / "out" / "old").exists()
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["new"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_atomic_write_text_replaces_the_file(tmp_path):
    atomic_write_text(tmp_path / "a.json", "1")
    atomic_write_text(tmp_path / "a.json", "2")
    assert (tmp_path / "a.json").read_text() == "2"
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_atomic_write_text_gives_ordinary_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "manifest.json", "{}")
    finally:
        os.umask(umask)
    assert (tmp_path / "manifest.json").stat().st_mode & 0o777 == 0o644
