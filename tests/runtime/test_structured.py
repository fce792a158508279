"""Structured output (GenerationConfig json_schema / regex) in the Engine's decoding loop, on every backend.

The models are random-init (the chain model of tests/tiny_models.py, the tiny GGUF): left alone they write
gibberish, so every well-formed document is the constraint's doing, and sampling at temperature 1 roams the
whole vocabulary: a good adversary for the mask.
"""

from __future__ import annotations

import json
import re

import jsonschema
import numpy as np
import pytest

import infir_edge
from infir_edge.errors import InvalidRequestError
from infir_edge.runtime.generation import GenerationConfig

BACKENDS = ["torch", "gguf", "onnx", pytest.param("executorch", marks=pytest.mark.slow)]
# one thread: these tiny models gain nothing from a second, and llama.cpp's spinning threads run ~50x slower when
# the 2 cores are busy with other work
THREADS = 1
PROMPT = "Describe a person as JSON:\n"
# every property required, no others, bounded strings, integers and arrays: the grammar has no way out but to
# finish the document, so generation always stops on its own well inside 96 tokens
PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 8},
        "age": {"type": "integer", "minimum": 0, "maximum": 120},
        "height": {"type": "number", "minimum": 0.5, "maximum": 2.5, "multipleOf": 0.25},  # bounds the digits
        "member": {"type": "boolean"},
        "role": {"enum": ["admin", "user", "guest"]},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 4}, "maxItems": 2},
        "address": {"type": "object", "properties": {"zip": {"type": "string", "pattern": "^[0-9]{5}$"}},
                    "required": ["zip"], "additionalProperties": False},
    },
    "required": ["name", "age", "height", "member", "role", "tags", "address"],
    "additionalProperties": False,
}


@pytest.fixture(scope="module")
def tiny(tiny_gguf):
    with infir_edge.load(tiny_gguf, n_ctx=512, threads=THREADS) as engine:
        yield engine


@pytest.mark.parametrize("backend", BACKENDS)
def test_json_schema_holds_on_each_backend(chain_model, backend):
    with infir_edge.load(chain_model(backend), threads=THREADS) as engine:
        results = [engine.generate(PROMPT, max_new_tokens=96, json_schema=PERSON, temperature=1.0, seed=seed)
                   for seed in range(3)]
        results.append(engine.generate(PROMPT, max_new_tokens=96, json_schema=PERSON))  # greedy
    for result in results:
        assert result.finish_reason == "stop", result.text
        jsonschema.validate(json.loads(result.text), PERSON)


def test_every_generation_that_stops_validates(tiny):
    # unbounded strings and arrays: some samples run to max_new_tokens ("length", unfinished), and those that
    # end on their own must be complete documents
    schema = {"type": "object", "properties": {"note": {"type": "string"}, "scores": {"type": "array",
              "items": {"type": "integer"}}}, "required": ["scores"]}
    stopped = 0
    for seed in range(12):
        result = tiny.generate(PROMPT, max_new_tokens=48, json_schema=schema, temperature=1.0, seed=seed)
        if result.finish_reason == "stop":
            stopped += 1
            jsonschema.validate(json.loads(result.text), schema)
    assert stopped  # the property was put to the test at least once


def test_streamed_pieces_add_up_to_the_document(tiny):
    stream = tiny.stream(PROMPT, max_new_tokens=96, json_schema=PERSON, temperature=1.0, seed=7)
    text = "".join(stream)
    assert text == stream.result.text
    jsonschema.validate(json.loads(text), PERSON)


def test_regex_gives_a_full_match(tiny):
    pattern = r"[A-Z][a-z]{2,5}-\d{3}( ok)?"
    for seed in range(6):
        result = tiny.generate(PROMPT, max_new_tokens=16, regex=pattern, temperature=1.0, seed=seed)
        assert result.finish_reason == "stop" and re.fullmatch(pattern, result.text), result.text


def boost_control_tokens(monkeypatch, engine) -> frozenset[int]:
    """Make the model want its special tokens other than end-of-generation (`<|im_start|>` and the like) above
    everything else; returns their ids."""
    control = engine._special_token_ids() - engine.eog_token_ids
    ids = np.array(sorted(control))
    prefill, decode = engine._prefill, engine._decode

    def boosted(logits):
        logits = np.array(logits, dtype=np.float32)
        logits[ids] = logits.max() + 50.0
        return logits

    monkeypatch.setattr(engine, "_prefill", lambda token_ids: boosted(prefill(token_ids)))
    monkeypatch.setattr(engine, "_decode", lambda token_id: boosted(decode(token_id)))
    return control


@pytest.mark.parametrize("backend", ["gguf", "torch"])  # each reads the special tokens its own way
def test_the_mask_keeps_special_tokens_out_of_strings(chain_model, monkeypatch, backend):
    with infir_edge.load(chain_model(backend), threads=THREADS) as engine:
        control = boost_control_tokens(monkeypatch, engine)
        assert set(engine.generate(PROMPT, max_new_tokens=8).token_ids) <= control  # unconstrained, it writes them
        schema = {"type": "object", "properties": {"text": {"type": "string", "minLength": 4, "maxLength": 24}},
                  "required": ["text"], "additionalProperties": False}
        result = engine.generate(PROMPT, max_new_tokens=64, json_schema=schema, temperature=1.0, seed=0)
    assert result.finish_reason == "stop" and not control & set(result.token_ids)
    json.loads(result.text)


@pytest.mark.parametrize(
    "options",
    [
        {"json_schema": PERSON, "regex": "a+"},
        {"regex": "a+", "grammar": 'start: "a"'},
        {"json_schema": PERSON, "tools": ("calculator",)},
        {"regex": "a+", "tools": ("calculator",)},
        {"json_schema": PERSON, "ignore_eos": True},
        {"regex": ""},
        {"json_schema": 5},
        {"json_schema": "{not json"},
    ],
    ids=["schema+regex", "regex+grammar", "schema+tools", "regex+tools", "schema+ignore-eos", "empty-regex",
         "schema-not-a-schema", "schema-bad-json-text"],
)
def test_invalid_combinations_are_refused(tiny, options):
    with pytest.raises(InvalidRequestError):
        GenerationConfig(**options)
    with pytest.raises(InvalidRequestError):
        tiny.stream(PROMPT, **options)


@pytest.mark.parametrize("schema", [{"type": "strin"}, {"not": {"type": "string"}}, {"$ref": "#/$defs/missing"},
                                    {"type": "integer", "minimum": 5, "maximum": 1}],
                         ids=["unknown-type", "unimplemented-not", "dangling-ref", "unsatisfiable"])
def test_unsupported_schema_is_refused_at_the_call(tiny, schema):
    with pytest.raises(InvalidRequestError, match="constraint"):
        tiny.stream(PROMPT, json_schema=schema)  # not iterated: the call itself refuses
    assert tiny.generate(PROMPT, max_new_tokens=2).finish_reason == "length"  # and the engine is free


def test_schema_given_as_json_text_is_the_same_schema(tiny):
    as_text = tiny.generate(PROMPT, max_new_tokens=96, json_schema=json.dumps(PERSON), temperature=1.0, seed=5)
    as_dict = tiny.generate(PROMPT, max_new_tokens=96, json_schema=PERSON, temperature=1.0, seed=5)
    assert as_text.text == as_dict.text


def test_a_document_cut_by_max_new_tokens_ends_with_length(tiny):
    result = tiny.generate(PROMPT, max_new_tokens=4, json_schema=PERSON)
    assert result.finish_reason == "length" and len(result.token_ids) == 4
