"""Fuzzing structured output: generated JSON schemas and prompts, sampled at temperature 1 with random seeds on the
tiny random-init GGUF. Whatever the schema, prompt and seed, a generation that ends on its own (finish_reason
"stop") is a JSON document valid against the schema; one cut by max_new_tokens ("length") may be unfinished."""

from __future__ import annotations

import json

import jsonschema
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

import infir_edge

MAX_NEW_TOKENS = 64
NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)
# Characters the tiny model's vocabulary (SmolLM2's) can spell: it has no token for the UTF-8 lead bytes F1 and F2,
# so U+40000-U+BFFFF cannot be written at all, and no lone surrogates (not JSON-ready). Quotes, backslashes and
# control characters exercise the escaping.
CHARACTERS = st.characters(max_codepoint=0x3FFFF, exclude_categories=("Cs",))
TEXT = st.text(CHARACTERS, max_size=6)


@st.composite
def bounds(draw, values, low: str, high: str) -> dict:
    """Optional lower and upper bounds drawn from `values`, never crossed (a crossed pair is unsatisfiable,
    which the SDK rightly refuses: not what this test is about)."""
    picked = sorted(draw(st.lists(values, min_size=2, max_size=2)))
    out = {}
    if draw(st.booleans()):
        out[low] = picked[0]
    if draw(st.booleans()):
        out[high] = picked[1]
    return out


def strings() -> st.SearchStrategy[dict]:
    return bounds(st.integers(0, 12), "minLength", "maxLength").map(lambda b: {"type": "string", **b})


def integers() -> st.SearchStrategy[dict]:
    return bounds(st.integers(-1000, 1000), "minimum", "maximum").map(lambda b: {"type": "integer", **b})


def numbers() -> st.SearchStrategy[dict]:
    values = st.one_of(st.integers(-100, 100), st.floats(-100, 100, allow_nan=False).map(lambda x: round(x, 2)))
    return bounds(values, "minimum", "maximum").map(lambda b: {"type": "number", **b})


def enums() -> st.SearchStrategy[dict]:
    scalars = st.one_of(TEXT, st.integers(-50, 50), st.booleans(), st.none())
    return st.lists(scalars, min_size=1, max_size=4, unique_by=json.dumps).map(lambda v: {"enum": v})


def leaves() -> st.SearchStrategy[dict]:
    return st.one_of(strings(), integers(), numbers(), st.just({"type": "boolean"}), enums())


def arrays(items: st.SearchStrategy[dict]) -> st.SearchStrategy[dict]:
    return st.builds(lambda item, b: {"type": "array", "items": item, **b}, items,
                     bounds(st.integers(0, 3), "minItems", "maxItems"))


@st.composite
def objects(draw, values: st.SearchStrategy[dict]) -> dict:
    properties = draw(st.dictionaries(NAMES, values, min_size=1, max_size=4))
    required = draw(st.lists(st.sampled_from(sorted(properties)), unique=True))
    schema = {"type": "object", "properties": properties, "required": required}
    if draw(st.booleans()):
        schema["additionalProperties"] = False
    return schema


# objects of leaves, arrays and objects, two levels deep
SCHEMAS = objects(st.recursive(leaves(), lambda inner: st.one_of(arrays(inner), objects(inner)), max_leaves=4))
# a prompt holds at least one letter: a few control characters have no token either, and a prompt of them alone
# tokenizes to nothing (an empty prompt, refused)
PROMPTS = st.builds(str.__add__, st.text(CHARACTERS, max_size=30), st.sampled_from("abcdefghijklmnopqrstuvwxyz"))


@pytest.fixture(scope="module")
def tiny(tiny_gguf):
    # one thread: a 2-layer model gains nothing from a second, and llama.cpp's spinning threads run ~50x slower
    # when the 2 cores are busy with other work
    with infir_edge.load(tiny_gguf, n_ctx=256, threads=1) as engine:
        yield engine


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema=SCHEMAS, prompt=PROMPTS, seed=st.integers(0, 2**32 - 1))
def test_a_generation_that_stops_validates_against_its_schema(tiny, schema, prompt, seed):
    note(json.dumps(schema))
    result = tiny.generate(prompt, max_new_tokens=MAX_NEW_TOKENS, json_schema=schema, temperature=1.0, seed=seed)
    note(f"{result.finish_reason}: {result.text!r}")
    if result.finish_reason == "stop":
        jsonschema.validate(json.loads(result.text), schema)
