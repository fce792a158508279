"""The simulated phone's file system: what `adb push` wrote and what the shell reads, shared by sync and the shell.

Files are path -> bytes with a mode and an mtime; directories exist when something was created in them, when they were
made with `mkdir`, or when they are one of the directories every phone has. adbutils relies on two details of a real
device: `sync.exists` is true only for a non-zero mtime, and `push` appends the file name when STAT says the target is
a directory, so both are kept exactly.
"""

from __future__ import annotations

import posixpath
import stat
import threading
import time
from dataclasses import dataclass

# Directories a stock Android phone has, so `push x /sdcard/Download/` and `ls /data/local/tmp` work on a fresh phone.
STOCK_DIRECTORIES = ("/data/local/tmp", "/sdcard/Download", "/sdcard/DCIM", "/sdcard/Pictures", "/system/bin")
DIRECTORY_MODE = stat.S_IFDIR | 0o771


@dataclass(frozen=True)
class FileInfo:
    """What `stat` says about a path: `mode` carries the type bits (S_IFREG / S_IFDIR) as adb's STAT does."""

    mode: int
    size: int
    mtime: int

    @property
    def is_dir(self) -> bool:
        return stat.S_ISDIR(self.mode)


@dataclass
class _StoredFile:
    data: bytes
    mode: int
    mtime: int


def normalize(path: str) -> str:
    """An absolute, normalized device path; relative paths start at `/`, the shell's working directory."""
    return posixpath.normpath(posixpath.join("/", path))


class FileStore:
    """Thread-safe path -> file map with implied directories."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._files: dict[str, _StoredFile] = {}
        self._directories: set[str] = {"/"}
        self._boot_time = int(time.time())
        for directory in STOCK_DIRECTORIES:
            self._add_directory(directory)

    def _add_directory(self, path: str) -> None:
        while path not in self._directories:
            self._directories.add(path)
            path = posixpath.dirname(path)

    def stat(self, path: str) -> FileInfo | None:
        path = normalize(path)
        with self._lock:
            stored = self._files.get(path)
            if stored is not None:
                return FileInfo(stat.S_IFREG | stored.mode, len(stored.data), stored.mtime)
            if path in self._directories:
                return FileInfo(DIRECTORY_MODE, 4096, self._boot_time)
        return None

    def read(self, path: str) -> bytes:
        """The file's bytes; FileNotFoundError / IsADirectoryError as a shell would report them."""
        path = normalize(path)
        with self._lock:
            stored = self._files.get(path)
            if stored is not None:
                return stored.data
            if path in self._directories:
                raise IsADirectoryError(path)
        raise FileNotFoundError(path)

    def write(self, path: str, data: bytes, mode: int = 0o644, mtime: int | None = None) -> None:
        """Create or replace a file (its parent directories are implied); NotADirectoryError/IsADirectoryError."""
        path = normalize(path)
        parent = posixpath.dirname(path)
        with self._lock:
            if path in self._directories:
                raise IsADirectoryError(path)
            if self._has_file_above(path):
                raise NotADirectoryError(parent)
            self._add_directory(parent)
            stamp = int(time.time()) if mtime is None else mtime
            self._files[path] = _StoredFile(bytes(data), stat.S_IMODE(mode), stamp)

    def _has_file_above(self, path: str) -> bool:
        parent = posixpath.dirname(path)
        while parent != "/":
            if parent in self._files:
                return True
            parent = posixpath.dirname(parent)
        return False

    def make_directory(self, path: str) -> None:
        path = normalize(path)
        with self._lock:
            if path in self._files or self._has_file_above(path):
                raise FileExistsError(path)
            self._add_directory(path)

    def chmod(self, path: str, mode: int) -> None:
        path = normalize(path)
        with self._lock:
            if path in self._files:
                self._files[path].mode = stat.S_IMODE(mode)
            elif path not in self._directories:
                raise FileNotFoundError(path)

    def remove(self, path: str, *, recursive: bool = False) -> None:
        """Delete a file, or a directory tree when `recursive`; FileNotFoundError / IsADirectoryError."""
        path = normalize(path)
        with self._lock:
            if path in self._files:
                del self._files[path]
                return
            if path not in self._directories:
                raise FileNotFoundError(path)
            if not recursive:
                raise IsADirectoryError(path)
            prefix = path.rstrip("/") + "/"
            self._files = {name: f for name, f in self._files.items() if not name.startswith(prefix)}
            self._directories = {d for d in self._directories if d != path and not d.startswith(prefix)} | {"/"}

    def move(self, source: str, target: str) -> None:
        """Rename a file, replacing `target` as rename(2) does (what `mv` of a pushed `.partial` file needs)."""
        source, target = normalize(source), normalize(target)
        with self._lock:
            if source not in self._files:
                raise IsADirectoryError(source) if source in self._directories else FileNotFoundError(source)
            if target in self._directories:
                target = posixpath.join(target, posixpath.basename(source))
            if self._has_file_above(target):
                raise NotADirectoryError(posixpath.dirname(target))
            self._add_directory(posixpath.dirname(target))
            self._files[target] = self._files.pop(source)

    def list_directory(self, path: str) -> list[tuple[str, FileInfo]]:
        """(name, info) of the direct children, sorted; NotADirectoryError / FileNotFoundError."""
        path = normalize(path)
        with self._lock:
            if path in self._files:
                raise NotADirectoryError(path)
            if path not in self._directories:
                raise FileNotFoundError(path)
            every_path = (*self._files, *self._directories)
            names = {posixpath.basename(p) for p in every_path if p != "/" and posixpath.dirname(p) == path}
        entries = [(name, self.stat(posixpath.join(path, name))) for name in sorted(names)]
        return [(name, info) for name, info in entries if info is not None]
