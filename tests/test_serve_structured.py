"""`infir-edge serve` honours OpenAI's `response_format`: OpenAI's own client against a real server over the tiny
random-init GGUF, whose unconstrained text is gibberish, so any JSON in a reply is the constraint's doing."""

from __future__ import annotations

import json

import httpx
import jsonschema
import openai
import pytest
from test_serve import openai_client, running

import infir_edge
from infir_edge.serve import create_app

MODEL = "tiny"
MESSAGES = [{"role": "user", "content": "Describe a person as JSON."}]
# bounded everywhere (every property required, no others, short strings, small integers): the only way out of the
# grammar is to finish the document, so even greedy gibberish ends with finish_reason "stop"
PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 8},
        "age": {"type": "integer", "minimum": 0, "maximum": 120},
        "member": {"type": "boolean"},
        "role": {"enum": ["admin", "user", "guest"]},
    },
    "required": ["name", "age", "member", "role"],
    "additionalProperties": False,
}
PERSON_FORMAT = {"type": "json_schema", "json_schema": {"name": "person", "schema": PERSON, "strict": True}}


@pytest.fixture(scope="module")
def engine(tiny_gguf):
    # one thread: llama.cpp's spinning threads run the tiny model ~50x slower when the 2 cores are busy elsewhere
    with infir_edge.load(tiny_gguf, n_ctx=256, threads=1) as engine:
        yield engine


@pytest.fixture(scope="module")
def url(engine):
    with running(create_app(engine, model_name=MODEL)) as url:
        yield url


@pytest.fixture
def client(url):
    return openai_client(url)


def test_json_schema_reply_validates(client):
    reply = client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=64,
                                           response_format=PERSON_FORMAT)
    assert reply.choices[0].finish_reason == "stop"
    jsonschema.validate(json.loads(reply.choices[0].message.content), PERSON)


def test_json_schema_reply_is_the_engines_constrained_text(client, engine):
    reply = client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=64, temperature=1.0, seed=3,
                                           response_format=PERSON_FORMAT)
    expected = engine.generate(MESSAGES, max_new_tokens=64, temperature=1.0, seed=3, json_schema=PERSON)
    assert reply.choices[0].message.content == expected.text


def test_json_object_replies_that_stop_are_objects(client):
    # {"type": "object"} leaves keys and values free: gibberish strings can run to max_tokens, so several seeds
    stopped = []
    for seed in range(8):
        reply = client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=24, temperature=1.0,
                                               seed=seed, response_format={"type": "json_object"})
        if reply.choices[0].finish_reason == "stop":
            stopped.append(json.loads(reply.choices[0].message.content))
    assert stopped and all(isinstance(document, dict) for document in stopped)


def test_text_response_format_changes_nothing(client, engine):
    reply = client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=8,
                                           response_format={"type": "text"})
    assert reply.choices[0].message.content == engine.generate(MESSAGES, max_new_tokens=8).text


def test_streamed_json_schema_reply_validates(client):
    chunks = list(client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=64, stream=True,
                                                 response_format=PERSON_FORMAT))
    assert chunks[-1].choices[0].finish_reason == "stop"
    jsonschema.validate(json.loads("".join(c.choices[0].delta.content or "" for c in chunks)), PERSON)


def test_completions_take_a_response_format(url):
    body = {"model": MODEL, "prompt": "Once upon a time", "max_tokens": 64, "response_format": PERSON_FORMAT}
    response = httpx.post(f"{url}/v1/completions", json=body, timeout=30)
    assert response.status_code == 200, response.text
    jsonschema.validate(json.loads(response.json()["choices"][0]["text"]), PERSON)


@pytest.mark.parametrize("schema", [{"type": "strin"}, {"not": {"type": "string"}},
                                    {"type": "integer", "minimum": 5, "maximum": 1}, {"$ref": "#/$defs/missing"}],
                         ids=["unknown-type", "unimplemented-not", "unsatisfiable", "dangling-ref"])
def test_schema_the_grammar_engine_rejects_is_a_bad_request(client, schema):
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=8, response_format={
            "type": "json_schema", "json_schema": {"name": "bad", "schema": schema}})
    assert caught.value.status_code == 400
    assert caught.value.param == "response_format.json_schema.schema"


@pytest.mark.parametrize(
    ("response_format", "param"),
    [
        ({"type": "xml"}, "response_format.type"),
        ({}, "response_format.type"),
        ("json", "response_format"),
        ({"type": "json_schema"}, "response_format"),
        ({"type": "json_schema", "json_schema": {"name": "x", "schema": "{}"}}, "response_format.json_schema.schema"),
        ({"type": "json_schema", "json_schema": {"schema": PERSON}}, "response_format.json_schema.name"),
        ({"type": "json_schema", "json_schema": {"name": "x", "schema": PERSON, "strict": "yes"}},
         "response_format.json_schema.strict"),
    ],
    ids=["unknown-type", "no-type", "string", "no-json-schema", "schema-as-text", "no-name", "strict-not-bool"],
)
def test_malformed_response_format_is_400(url, response_format, param):
    for route, prompt in (("chat/completions", {"messages": MESSAGES}), ("completions", {"prompt": "Hi"})):
        body = {"model": MODEL, **prompt, "max_tokens": 4, "response_format": response_format}
        response = httpx.post(f"{url}/v1/{route}", json=body, timeout=30)
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert (error["type"], error["param"]) == ("invalid_request_error", param)


def test_streamed_request_with_a_rejected_schema_is_400_before_any_event(url):
    body = {"model": MODEL, "messages": MESSAGES, "stream": True,
            "response_format": {"type": "json_schema", "json_schema": {"name": "bad", "schema": {"type": "strin"}}}}
    response = httpx.post(f"{url}/v1/chat/completions", json=body, timeout=30)
    assert response.status_code == 400 and response.headers["content-type"].startswith("application/json")


def test_response_format_on_a_server_with_tools_is_a_bad_request(engine):
    with running(create_app(engine, model_name=MODEL, tools=("calculator",))) as url:
        client = openai_client(url)
        with pytest.raises(openai.BadRequestError) as caught:
            client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=8,
                                           response_format={"type": "json_object"})
        assert caught.value.param == "response_format" and "calculator" in caught.value.message
        # the same server still answers free text, its tools on
        assert client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=2).choices
