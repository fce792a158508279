"""The teacher: any OpenAI-compatible chat endpoint, called concurrently up to a limit.

At paper scale that is a vLLM server with Qwen2.5-32B-Instruct (`teacher.url`); at CPU scale `served_teacher` starts
the SDK's own `infir-edge serve` on a model (the embedded default unless told otherwise) on a free local port and
stops it afterwards. Requests go through the official `openai` client, so the same code talks to either.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass

from training.sft.errors import SFTError


@dataclass
class TeacherSettings:
    url: str | None = None  # an OpenAI-compatible base URL (".../v1"); None: serve `model` locally
    model: str = "default"  # the model name at `url`, or what `infir-edge serve --model` loads
    api_key: str = "none"
    concurrency: int = 4  # requests in flight (vLLM batches them; the SDK's server queues them)
    timeout_s: float = 300.0
    retries: int = 2
    serve_threads: int | None = None  # threads of a locally served teacher (default: all cores)


class Teacher:
    """Chat completions from the teacher; `map` runs many with at most `concurrency` in flight."""

    def __init__(self, base_url: str, model: str, *, api_key: str = "none", concurrency: int = 4,
                 timeout_s: float = 300.0, retries: int = 2) -> None:
        from openai import OpenAI

        self.model, self.concurrency = model, concurrency
        self.client = OpenAI(base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=retries)

    def chat(self, messages: list[dict], *, max_tokens: int, temperature: float = 0.0, seed: int | None = None,
             stop: list[str] | None = None) -> str:
        import openai

        try:
            reply = self.client.chat.completions.create(model=self.model, messages=messages, max_tokens=max_tokens,
                                                        temperature=temperature, seed=seed, stop=stop)
        except openai.APIError as e:
            raise SFTError(f"the teacher at {self.client.base_url} failed: {e}") from None
        return reply.choices[0].message.content or ""

    def map(self, fn: Callable, items: Iterable) -> Iterator:
        """(item, fn(item)) as each finishes, `concurrency` at a time."""
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            futures = {pool.submit(fn, item): item for item in items}
            for future in as_completed(futures):
                yield futures[future], future.result()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served_teacher(settings: TeacherSettings, *, log_path=None, startup_s: float = 300.0) -> Iterator[Teacher]:
    """A Teacher on `settings.url`, or on an `infir-edge serve` process started here for the time of the block."""
    if settings.url:
        yield Teacher(settings.url, settings.model, api_key=settings.api_key, concurrency=settings.concurrency,
                      timeout_s=settings.timeout_s, retries=settings.retries)
        return
    port = free_port()
    command = [sys.executable, "-m", "infir_edge.cli", "serve", "--model", settings.model, "--port", str(port),
               "--model-name", "teacher"]
    if settings.serve_threads:
        command += ["--threads", str(settings.serve_threads)]
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115 (closed below)
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_healthy(process, port, startup_s)
        yield Teacher(f"http://127.0.0.1:{port}/v1", "teacher", concurrency=settings.concurrency,
                      timeout_s=settings.timeout_s, retries=settings.retries)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if log is not subprocess.DEVNULL:
            log.close()


def _wait_healthy(process: subprocess.Popen, port: int, startup_s: float) -> None:
    import urllib.request

    deadline = time.monotonic() + startup_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SFTError(f"the teacher server exited with code {process.returncode} before it was ready")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SFTError(f"the teacher server did not answer /health within {startup_s:.0f} s")
