"""`infir-edge serve`: OpenAI's own client against a real uvicorn server over a real engine.

Most tests use the tiny random-init GGUF (its greedy text is gibberish, but it is deterministic and fast);
a reply must be exactly what `engine.generate` makes of the same prompt.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import openai
import pytest
import uvicorn
from tiny_models import CHAIN_PROMPT

import infir_edge
from infir_edge.serve import create_app

MODEL = "tiny"
MESSAGES = [{"role": "user", "content": "Hello there"}]
PROMPT = "Once upon a time"


@contextmanager
def running(app):
    """Serve `app` with uvicorn in a background thread on a free loopback port; yield its base URL."""
    sock = socket.create_server(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def openai_client(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=30)


@pytest.fixture(scope="module")
def engine(tiny_gguf):
    with infir_edge.load(tiny_gguf, n_ctx=256) as engine:
        yield engine


@pytest.fixture(scope="module")
def url(engine):
    with running(create_app(engine, model_name=MODEL)) as url:
        yield url


@pytest.fixture
def client(url):
    return openai_client(url)


def slow_decode(monkeypatch, engine, seconds: float) -> list[int]:
    """Make each decode step take `seconds` (so requests overlap); returns the tokens decoded since."""
    decoded: list[int] = []
    decode = engine._decode

    def slowly(token: int):
        decoded.append(token)
        time.sleep(seconds)
        return decode(token)

    monkeypatch.setattr(engine, "_decode", slowly)
    return decoded


def sse_data(response: httpx.Response) -> Iterator[str]:
    return (line.removeprefix("data: ") for line in response.iter_lines() if line.startswith("data: "))


def assert_still_serving(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=2)
    assert reply.choices[0].finish_reason == "length"


# ---- answers ---------------------------------------------------------------------------------------------
def test_models_lists_the_served_model(client):
    models = client.models.list().data
    assert [(m.id, m.object, m.owned_by) for m in models] == [(MODEL, "model", "infir-edge")]
    assert client.models.retrieve(MODEL).id == MODEL


def test_chat_reply_is_the_engines_greedy_text_with_its_usage(client, engine):
    reply = client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=12, temperature=0)
    expected = engine.generate(MESSAGES, max_new_tokens=12)
    assert reply.object == "chat.completion" and reply.id.startswith("chatcmpl-")
    assert reply.choices[0].message.role == "assistant"
    assert reply.choices[0].message.content == expected.text
    assert reply.choices[0].finish_reason == expected.finish_reason
    t = expected.timings
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (t.prompt_tokens, t.generated_tokens)
    assert reply.usage.total_tokens == t.prompt_tokens + t.generated_tokens


def test_completion_is_the_engines_greedy_text_of_16_tokens_by_default(client, engine):
    reply = client.completions.create(model=MODEL, prompt=PROMPT)
    expected = engine.generate(PROMPT, max_new_tokens=16)
    assert reply.object == "text_completion" and reply.id.startswith("cmpl-")
    assert reply.choices[0].text == expected.text
    assert reply.usage.completion_tokens == expected.timings.generated_tokens == 16


def test_completion_takes_token_ids(client, engine):
    ids = engine.tokenize(PROMPT)
    reply = client.completions.create(model=MODEL, prompt=ids, max_tokens=5)
    assert reply.choices[0].text == engine.generate(PROMPT, max_new_tokens=5).text


def test_chat_stream_adds_up_to_the_reply(client, engine):
    chunks = list(client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=12, stream=True))
    expected = engine.generate(MESSAGES, max_new_tokens=12)
    assert {c.object for c in chunks} == {"chat.completion.chunk"} and len({c.id for c in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == expected.text
    assert [c.choices[0].finish_reason for c in chunks][-2:] == [None, expected.finish_reason]


def test_completion_stream_is_text_completion_events_ending_with_done(url, engine):
    body = {"model": MODEL, "prompt": PROMPT, "max_tokens": 8, "stream": True}
    with httpx.stream("POST", f"{url}/v1/completions", json=body, timeout=30) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        data = list(sse_data(response))
    assert data[-1] == "[DONE]"
    chunks = [json.loads(d) for d in data[:-1]]
    assert {c["object"] for c in chunks} == {"text_completion"}
    assert "".join(c["choices"][0]["text"] for c in chunks) == engine.generate(PROMPT, max_new_tokens=8).text
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"


def test_stream_include_usage_ends_with_a_usage_chunk(client, engine):
    stream = client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=6, stream=True,
                                            stream_options={"include_usage": True})
    chunks = list(stream)
    t = engine.generate(MESSAGES, max_new_tokens=6).timings
    assert chunks[-1].choices == []
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (t.prompt_tokens, 6)
    assert all(c.usage is None for c in chunks[:-1])


def test_stop_string_ends_the_text_before_it(client, engine):
    stop = engine.generate(PROMPT, max_new_tokens=16).text.split()[-1]
    reply = client.completions.create(model=MODEL, prompt=PROMPT, max_tokens=16, stop=[stop, "never-seen"])
    expected = engine.generate(PROMPT, max_new_tokens=16, stop=[stop])
    assert reply.choices[0].finish_reason == "stop"
    assert reply.choices[0].text == expected.text and stop not in expected.text


def test_max_completion_tokens_ends_with_length(client):
    reply = client.chat.completions.create(model=MODEL, messages=MESSAGES, max_completion_tokens=3)
    assert reply.choices[0].finish_reason == "length" and reply.usage.completion_tokens == 3


def test_chat_without_max_tokens_may_fill_the_context(client, engine):
    reply = client.chat.completions.create(model=MODEL, messages=MESSAGES)  # the tiny model never ends a turn
    assert reply.choices[0].finish_reason == "length"
    assert reply.usage.total_tokens == engine.n_ctx


# ---- errors: OpenAI's shape and status, and the server answers on ---------------------------------------
@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": MODEL}, "messages"),
        ({"model": MODEL, "messages": []}, "messages"),
        ({"model": MODEL, "messages": [{"role": "robot", "content": "hi"}]}, "messages[0].role"),
        ({"model": MODEL, "messages": MESSAGES, "max_tokens": "5"}, "max_tokens"),
        ({"model": MODEL, "messages": MESSAGES, "n": 2}, "n"),
        ({"model": MODEL, "messages": MESSAGES, "presence_penalty": 0.5}, "presence_penalty"),
        ({"model": MODEL, "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]},
         "messages[0].content"),
        ({"model": MODEL, "messages": MESSAGES, "temperature": -5}, None),
    ],
    ids=["no-messages", "empty-messages", "bad-role", "string-max-tokens", "n-2", "penalty", "image", "temp-neg"],
)
def test_bad_chat_request_is_400(url, client, body, param):
    response = httpx.post(f"{url}/v1/chat/completions", json=body, timeout=30)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert response.json()["error"]["param"] == param
    assert_still_serving(client)


def test_invalid_json_is_400(url, client):
    response = httpx.post(f"{url}/v1/chat/completions", content=b'{"model": ', timeout=30,
                          headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]["message"]
    assert_still_serving(client)


def test_negative_temperature_is_a_bad_request(client):
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model=MODEL, messages=MESSAGES, temperature=-5)
    assert caught.value.status_code == 400 and "temperature" in caught.value.message
    assert_still_serving(client)


def test_unknown_model_is_404_model_not_found(client):
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert caught.value.code == "model_not_found"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-4o")
    assert_still_serving(client)


def test_prompt_longer_than_the_context_is_400_context_length_exceeded(client):
    long = [{"role": "user", "content": "word " * 300}]
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model=MODEL, messages=long)
    assert caught.value.status_code == 400 and caught.value.code == "context_length_exceeded"
    assert_still_serving(client)


def test_unknown_route_is_404_in_openai_shape(url, client):
    response = httpx.post(f"{url}/v1/embeddings", json={"model": MODEL, "input": "x"}, timeout=30)
    assert response.status_code == 404
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}
    assert_still_serving(client)


def test_unexpected_failure_is_500_and_the_server_goes_on(client, engine, monkeypatch):
    def broken(token_ids):
        raise RuntimeError("the runtime fell over")

    monkeypatch.setattr(engine, "_prefill", broken)
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=2)
    assert "the runtime fell over" in caught.value.message
    monkeypatch.undo()
    assert_still_serving(client)


def test_failure_mid_stream_is_an_error_event(client, engine, monkeypatch):
    def broken(token):
        raise RuntimeError("the runtime fell over")

    monkeypatch.setattr(engine, "_decode", broken)
    stream = client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=8, stream=True)
    with pytest.raises(openai.APIError, match="the runtime fell over"):
        list(stream)
    monkeypatch.undo()
    assert_still_serving(client)


# ---- one generation at a time --------------------------------------------------------------------------
def test_concurrent_requests_are_served_in_turn(client, engine, monkeypatch):
    other = [{"role": "user", "content": "What is two plus two?"}]
    expected = [engine.generate(MESSAGES, max_new_tokens=30).text, engine.generate(other, max_new_tokens=20).text]
    slow_decode(monkeypatch, engine, 0.005)  # long enough for the two requests to overlap

    def streamed():
        chunks = client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=30, stream=True)
        return "".join(c.choices[0].delta.content or "" for c in chunks)

    def whole():
        return client.chat.completions.create(model=MODEL, messages=other, max_tokens=20).choices[0].message.content

    with ThreadPoolExecutor(2) as pool:
        replies = [pool.submit(streamed), pool.submit(whole)]
        assert [r.result(timeout=30) for r in replies] == expected


def test_models_answer_while_a_generation_runs(client, engine, monkeypatch):
    slow_decode(monkeypatch, engine, 0.02)
    stream = client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=100, stream=True)
    for _ in range(2):  # the role chunk, then the first token: the generation is running
        next(stream)
    start = time.monotonic()
    assert client.models.list().data[0].id == MODEL
    assert time.monotonic() - start < 0.5  # not after the ~2 s generation
    stream.close()


def test_client_disconnect_stops_the_generation(url, client, engine, monkeypatch):
    decoded = slow_decode(monkeypatch, engine, 0.02)
    body = {"model": MODEL, "messages": MESSAGES, "max_tokens": 200, "stream": True}
    with httpx.stream("POST", f"{url}/v1/chat/completions", json=body, timeout=30) as response:
        data = (json.loads(d) for d in sse_data(response))
        while not next(data)["choices"][0]["delta"].get("content"):  # up to the first token
            pass
    start = time.monotonic()
    reply = client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=3)
    assert reply.choices[0].finish_reason == "length"
    assert time.monotonic() - start < 2  # the 200 tokens would take 4 s
    assert len(decoded) < 100


def test_tools_of_the_server_answer_inside_every_generation(chain_model):
    with infir_edge.load(chain_model("gguf")) as chain, running(create_app(chain, model_name="chain",
                                                                           tools=("calculator",))) as url:
        reply = openai_client(url).completions.create(model="chain", prompt=CHAIN_PROMPT, max_tokens=16)
    assert reply.choices[0].text == "<<48/2=24>> clips"
    assert reply.usage.completion_tokens == 8 + 3  # sampled (end of text included) and forced


def test_unknown_server_tool_is_refused_before_serving(engine):
    with pytest.raises(infir_edge.InvalidRequestError, match="python"):
        create_app(engine, model_name=MODEL, tools=("python",))


# ---- the real default model ---------------------------------------------------------------------------
def test_default_model_chat_is_its_greedy_answer(llama_engine):
    messages = [{"role": "user", "content": "What is the capital of France?"}]
    with running(create_app(llama_engine, model_name="default")) as url:
        reply = openai_client(url).chat.completions.create(model="default", messages=messages, max_tokens=24)
    expected = llama_engine.generate(messages, max_new_tokens=24)
    assert reply.choices[0].message.content == expected.text and expected.text.strip()


# ---- the command ------------------------------------------------------------------------------------------
def serve_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "infir_edge.cli", "serve", *args]


def test_cli_serve_answers_a_chat_on_the_port_it_prints(tiny_gguf):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen(serve_command("--model", str(tiny_gguf), "--n-ctx", "256", "--port", "0"),
                            stderr=subprocess.PIPE, text=True, env=env)
    watchdog = threading.Timer(60, proc.kill)
    watchdog.start()
    try:
        line = proc.stderr.readline()
        assert line.startswith("serving tiny on http://127.0.0.1:"), line
        client = openai_client(line.split()[-1].removesuffix("/v1"))
        reply = client.chat.completions.create(model="tiny", messages=MESSAGES, max_tokens=4)
        assert reply.usage.completion_tokens == 4
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl-C: uvicorn shuts down, then the CLI says "interrupted"
        stderr = proc.communicate(timeout=30)[1]
        watchdog.cancel()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr


def test_cli_serve_missing_model_exits_2(tmp_path):
    proc = subprocess.run(serve_command("--model", str(tmp_path / "nonexistent.gguf")), capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2
    assert [line for line in proc.stderr.splitlines() if line.strip()][-1].startswith("error: ")
    assert "Traceback" not in proc.stderr


def test_cli_serve_without_fastapi_names_the_extra(tiny_gguf):
    code = ("import sys; sys.modules['fastapi'] = None\n"
            "from infir_edge.cli import main\n"
            f"sys.exit(main(['serve', '--model', {str(tiny_gguf)!r}]))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "pip install 'infir-edge[serve]'" in proc.stderr
