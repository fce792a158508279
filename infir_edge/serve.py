"""`infir-edge serve`: an OpenAI-compatible HTTP server over any Engine.

    GET  /v1/models, /v1/models/{id}, /health
    POST /v1/chat/completions, /v1/completions   (`"stream": true`: server-sent events in OpenAI's chunk format)

Where a small local model and OpenAI's API part ways:
- Sampling fields left out take the SDK's defaults: greedy decoding, not OpenAI's temperature 1.
- A chat request without max_tokens/max_completion_tokens generates what fits in the context after the
  prompt, at most CHAT_MAX_TOKENS; /v1/completions defaults to 16 tokens, as OpenAI does.
- The SDK's own tools (`serve(tools=("calculator",))`, `--tools calculator`) run inside every generation: their
  answers are part of the text. OpenAI's client-side `tools` (function calling) are not offered.
- `response_format` (`text`, `json_object`, `json_schema`; on /v1/completions too) is enforced token by token
  (GenerationConfig.json_schema): a reply that ends on its own is valid JSON; one cut at max_tokens
  ("length") or by a stop sequence (finish_reason "stop" too, as on OpenAI) may not be. A schema the grammar
  engine cannot compile is a 400, and so is a response_format on a server with tools, whose answers would be
  text the schema never saw.
- n > 1, logprobs, tools, echo, suffix, best_of > 1, logit_bias and non-zero frequency/presence penalties
  are refused with 400 rather than ignored (repetition_penalty, top_k and min_p are accepted as extra fields).
- `model` must be the served id (404 model_not_found otherwise, as OpenAI answers).
- Requests run one at a time, in arrival order: the model has one KV cache. All engine work runs on one
  worker thread, so the event loop keeps answering /v1/models and /health during a generation, and a
  streaming client that goes away ends its generation.
- There is no authentication: the server listens on loopback unless told otherwise.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import socket
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import NoReturn

from infir_edge.errors import BackendUnavailableError, ContextOverflowError, InfirEdgeError, InvalidRequestError
from infir_edge.runtime.generation import Generation, GenerationConfig

try:
    import anyio
    import uvicorn
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse, StreamingResponse
    from starlette.exceptions import HTTPException

    from infir_edge.serve_schema import ChatCompletionRequest, CompletionRequest
except ImportError as e:
    raise BackendUnavailableError("serve", "serve", str(e)) from None

_log = logging.getLogger(__name__)
CHAT_MAX_TOKENS = 2048  # long enough for a reasoning chain, short enough that a forgotten limit ends


class ApiError(Exception):
    """An answer in OpenAI's error shape: `{"error": {"message", "type", "param", "code"}}`."""

    def __init__(self, status: int, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error = {
            "message": message,
            "type": "invalid_request_error" if status < 500 else "server_error",
            "param": param,
            "code": code,
        }

    def response(self, headers: dict | None = None) -> JSONResponse:
        return JSONResponse({"error": self.error}, status_code=self.status, headers=headers)


def _as_api_error(e: Exception) -> ApiError:
    if isinstance(e, ApiError):
        return e
    if isinstance(e, ContextOverflowError):
        return ApiError(400, str(e), code="context_length_exceeded")
    if isinstance(e, InvalidRequestError):
        return ApiError(400, str(e))
    if isinstance(e, InfirEdgeError):  # the model or the runtime failed, not the request
        return ApiError(500, str(e))
    return ApiError(500, f"internal error ({type(e).__name__}: {e})")


class _EngineQueue:
    """Runs generations one at a time, first come first served, on one worker thread.

    asyncio.Lock wakes its waiters in FIFO order; a single worker thread keeps the blocking engine calls off
    the event loop and gives the engine one caller, as its own lock expects."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self._lock = asyncio.Lock()
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="infir-edge-serve")

    async def call(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self.worker, fn, *args)

    async def open(self, prompt, config: GenerationConfig, fit_context: bool):
        """Wait for the engine's turn and start a TextStream; `finish` it to give the turn back."""
        await self._lock.acquire()
        try:
            return await self.call(self._start, prompt, config, fit_context)
        except BaseException:
            self._lock.release()
            raise

    def _start(self, prompt, config: GenerationConfig, fit_context: bool):
        ids = self.engine.prompt_ids(prompt)  # tokenized once, here, where the engine is ours
        if fit_context:
            room = self.engine.n_ctx - len(ids)
            config = config.replace(max_new_tokens=max(1, min(CHAT_MAX_TOKENS, room)))
        return self.engine.stream(ids, config)

    async def finish(self, stream) -> None:
        # Shielded: a client that went away cancels the task running this, and the engine must still be
        # given back. On the worker, the close waits for a step still running there.
        with anyio.CancelScope(shield=True):
            await self.call(stream.close)
        self._lock.release()


def _drain(stream) -> Generation:
    for _ in stream:
        pass
    return stream.result


class _EventStream(StreamingResponse):
    """Server-sent events that give the engine back however the response ends: complete, failed, or cut
    short by the client (Starlette then cancels the body iterator, possibly before its first step)."""

    media_type = "text/event-stream"

    def __init__(self, events, on_close) -> None:
        super().__init__(events, headers={"Cache-Control": "no-cache"})
        self._on_close = on_close

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._on_close()


def _usage(result: Generation) -> dict:
    t = result.timings
    completion = t.generated_tokens + t.forced_tokens  # the end-of-turn token and tools' answers included
    return {"prompt_tokens": t.prompt_tokens, "completion_tokens": completion,
            "total_tokens": t.prompt_tokens + completion}


def _choice(body: dict, finish_reason: str | None = None) -> dict:
    return {"index": 0, **body, "logprobs": None, "finish_reason": finish_reason}


def _piece_choice(chat: bool, piece: str | None, finish_reason: str | None = None) -> dict:
    if chat:
        return _choice({"delta": {} if piece is None else {"content": piece}}, finish_reason)
    return _choice({"text": piece or ""}, finish_reason)


async def _events(queue: _EngineQueue, stream, head: dict, chat: bool, include_usage: bool):
    def event(choices: list[dict], usage: dict | None = None) -> str:
        data = {**head, "choices": choices, **({"usage": usage} if include_usage else {})}
        return f"data: {json.dumps(data, separators=(',', ':'))}\n\n"

    try:
        if chat:
            yield event([_choice({"delta": {"role": "assistant", "content": ""}})])
        while (piece := await queue.call(next, stream, None)) is not None:
            yield event([_piece_choice(chat, piece)])
        yield event([_piece_choice(chat, None, stream.result.finish_reason)])
        if include_usage:
            yield event([], _usage(stream.result))
        yield "data: [DONE]\n\n"
    except Exception as e:  # the status line is sent: an error event is what OpenAI's clients raise on
        if not isinstance(e, InfirEdgeError):
            _log.exception("a streamed generation failed")  # a bug: keep its traceback for the report
        yield f"data: {json.dumps({'error': _as_api_error(e).error})}\n\n"


def _config(body, max_tokens: int | None, tools: tuple[str, ...]) -> GenerationConfig:
    settings = {
        "tools": tools,
        "max_new_tokens": max_tokens,
        "temperature": body.temperature,
        "top_p": body.top_p,
        "top_k": body.top_k,
        "min_p": body.min_p,
        "repetition_penalty": body.repetition_penalty,
        "seed": body.seed,
        "stop": body.stop,
        "json_schema": body.output_schema(),
    }
    return GenerationConfig().replace(**{k: v for k, v in settings.items() if v is not None})


def _chat_messages(messages) -> list[dict]:
    return [
        {"role": "system" if m.role == "developer" else m.role, "content": _text(m.content, f"messages[{i}].content")}
        for i, m in enumerate(messages)
    ]


def _text(content, param: str) -> str:
    """A message's text: the content string, or its text parts joined by newlines."""
    if isinstance(content, str):
        return content
    texts = []
    for part in content:
        if part.type != "text":
            raise ApiError(400, f"content of type '{part.type}' is not supported by this model", param=param)
        if part.text is None:
            raise ApiError(400, "a content part of type 'text' needs a 'text' string", param=param)
        texts.append(part.text)
    return "\n".join(texts)


class _Api:
    def __init__(self, engine, model_name: str, tools: tuple[str, ...]) -> None:
        self.queue = _EngineQueue(engine)
        self.model_name = model_name
        self.tools = tools
        self.card = {"id": model_name, "object": "model", "created": int(time.time()), "owned_by": "infir-edge"}

    def check(self, body) -> None:
        if body.model != self.model_name:
            raise self.model_not_found(body.model)
        refused = body.unsupported()
        if refused:
            raise ApiError(400, refused[1], param=refused[0])
        if self.tools and body.output_schema() is not None:
            raise ApiError(400, f"response_format cannot be used on this server: it runs {', '.join(self.tools)} "
                           "inside every generation, and a tool's answer is text the schema never saw",
                           param="response_format")

    def model_not_found(self, model_id: str) -> ApiError:
        return ApiError(404, f"The model '{model_id}' does not exist: this server serves '{self.model_name}'",
                       param="model", code="model_not_found")

    async def reply(self, body, prompt, max_tokens: int | None, *, chat: bool):
        config = _config(body, max_tokens, self.tools)
        stream = await self.queue.open(prompt, config, fit_context=max_tokens is None)
        head = {
            "id": f"{'chatcmpl' if chat else 'cmpl'}-{uuid.uuid4().hex}",
            "object": "chat.completion" if chat else "text_completion",
            "created": int(time.time()),
            "model": self.model_name,
        }
        if body.stream:
            include_usage = bool(body.stream_options and body.stream_options.include_usage)
            chunk_head = {**head, "object": "chat.completion.chunk"} if chat else head
            events = _events(self.queue, stream, chunk_head, chat, include_usage)
            return _EventStream(events, on_close=partial(self.queue.finish, stream))
        try:
            result = await self.queue.call(_drain, stream)
        finally:
            await self.queue.finish(stream)
        answer = {"message": {"role": "assistant", "content": result.text}} if chat else {"text": result.text}
        return {**head, "choices": [_choice(answer, result.finish_reason)], "usage": _usage(result)}


def create_app(engine, *, model_name: str, tools: tuple[str, ...] = ()) -> FastAPI:
    """The OpenAI-compatible API over a loaded `engine`, which it serves as `model_name`, with the SDK's `tools`
    (infir_edge.tools) on in every generation."""
    GenerationConfig(tools=tools)  # an unknown tool: refused before the server starts
    api = _Api(engine, model_name, tuple(tools))

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        api.queue.worker.shutdown()

    app = FastAPI(title="infir-edge", lifespan=lifespan)
    app.add_exception_handler(ApiError, _error_response)
    app.add_exception_handler(InfirEdgeError, _error_response)
    app.add_exception_handler(Exception, _internal_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)

    @app.get("/health")
    async def health():
        return {"status": "ok"}

    @app.get("/v1/models")
    async def list_models():
        return {"object": "list", "data": [api.card]}

    @app.get("/v1/models/{model_id:path}")
    async def get_model(model_id: str):
        if model_id != model_name:
            raise api.model_not_found(model_id)
        return api.card

    @app.post("/v1/chat/completions")
    async def chat_completions(body: ChatCompletionRequest):
        api.check(body)
        max_tokens = body.max_completion_tokens if body.max_completion_tokens is not None else body.max_tokens
        return await api.reply(body, _chat_messages(body.messages), max_tokens, chat=True)

    @app.post("/v1/completions")
    async def completions(body: CompletionRequest):
        api.check(body)
        return await api.reply(body, body.single_prompt(), body.max_tokens, chat=False)

    return app


async def _error_response(request: Request, e: Exception) -> JSONResponse:
    return _as_api_error(e).response()


async def _internal_error(request: Request, e: Exception) -> JSONResponse:
    # Starlette re-raises after this answer, so that uvicorn logs the traceback, and uvicorn then drops the
    # connection: saying so keeps a keep-alive client from sending its next request into a closed socket.
    return _as_api_error(e).response(headers={"Connection": "close"})


async def _validation_error(request: Request, e: RequestValidationError) -> JSONResponse:
    # FastAPI answers 422 in its own shape; OpenAI's clients expect 400 and {"error": ...}
    first = e.errors()[0]
    if first["type"] == "json_invalid":
        return ApiError(400, f"the request body is not valid JSON: {first['ctx']['error']}").response()
    path = first["loc"][1:]  # after "body"
    if not path:
        return ApiError(400, "the request body must be a JSON object (sent as application/json)").response()
    param = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path).lstrip(".")
    return ApiError(400, f"{param}: {first['msg']}", param=param).response()


async def _http_error(request: Request, e: HTTPException) -> JSONResponse:
    message = f"Invalid URL ({request.method} {request.url.path})" if e.status_code == 404 else str(e.detail)
    return ApiError(e.status_code, message).response(headers=e.headers)


def serve(
    model="default",
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    backend: str | None = None,
    n_ctx: int | None = None,
    threads: int | None = None,
    model_name: str | None = None,
    tools: tuple[str, ...] = (),
    **backend_options,
) -> NoReturn:
    """Load `model` and answer OpenAI API requests on http://host:port/v1 until interrupted (port 0: any free
    port; the line on stderr names the one taken). `backend_options` go to `load` (e.g. `prefix_cache=False`)."""
    from infir_edge.runtime.loader import load

    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise InvalidRequestError(f"port must be an integer in [0, 65535], not {port!r}")
    with load(model, backend=backend, n_ctx=n_ctx, threads=threads, **backend_options) as engine:
        name = model_name or Path(str(model)).stem or "default"
        app = create_app(engine, model_name=name, tools=tools)
        sock = _listen(host, port)
        if not _is_loopback(host):
            print(f"warning: {host} may be reachable from other machines and this server has no authentication",
                  file=sys.stderr)
        url_host = f"[{host}]" if ":" in host else host
        print(f"serving {name} on http://{url_host}:{sock.getsockname()[1]}/v1", file=sys.stderr, flush=True)
        uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])
    # The server stops only on a signal. On Ctrl-C uvicorn shuts down and re-raises SIGINT, but asyncio's own SIGINT
    # handler (restored by then) can take it as a cancel of a task that is already finishing, and `run` returns:
    # exit 0 instead of 130, seen once in a loaded test run. Returning here is being interrupted.
    raise KeyboardInterrupt


def _listen(host: str, port: int) -> socket.socket:
    # Bound here rather than by uvicorn: a taken port becomes one `error:` line, and port 0 can be reported.
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        return socket.create_server((host, port), family=family)
    except OSError as e:
        raise InfirEdgeError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False
