"""The calculator in the decoding loop of every backend: a model whose greedy text after a line is `<<48/2=>> clips`
(the chain model, tests/tiny_models.py) writes `<<48/2=24>> clips` with the tool on: the answer inserted as forced
tokens, decoding resumed after it, the call recorded."""

from __future__ import annotations

import pytest
from tiny_models import CHAIN_PROMPT

import infir_edge
from infir_edge.tools import ToolCall

BACKENDS = ["torch", "gguf", "onnx", pytest.param("executorch", marks=pytest.mark.slow)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_calculator_answer_is_forced_and_decoding_resumes(chain_model, backend):
    with infir_edge.load(chain_model(backend)) as engine:
        plain = engine.generate(CHAIN_PROMPT, max_new_tokens=16)
        assert plain.text == "<<48/2=>> clips" and not plain.tool_calls
        result = engine.generate(CHAIN_PROMPT, max_new_tokens=16, tools=("calculator",))
        assert result.text == "<<48/2=24>> clips" and result.finish_reason == "stop"
        assert result.tool_calls == [ToolCall("calculator", "48/2", "24", "24>>")]
        forced = engine.tokenize("24>>", add_special=False)
        assert result.token_ids == plain.token_ids[:6] + forced + plain.token_ids[6:][1:]
        assert result.timings.forced_tokens == len(forced) == 3
        assert result.timings.generated_tokens == plain.timings.generated_tokens - 1  # '>>' came forced


def test_forced_tokens_do_not_count_against_max_new_tokens(chain_model):
    with infir_edge.load(chain_model("gguf")) as engine:
        # 7 sampled tokens: << 4 8 / 2 = clips; the answer's 3 come on top
        assert engine.generate(CHAIN_PROMPT, max_new_tokens=7, tools="calculator").text == "<<48/2=24>> clips"


def test_stream_shows_the_answer_as_it_is_inserted(chain_model):
    with infir_edge.load(chain_model("torch")) as engine:
        stream = engine.stream(CHAIN_PROMPT, max_new_tokens=16, tools=["calculator"])
        pieces = list(stream)
    assert "".join(pieces) == "<<48/2=24>> clips"
    assert any(piece.endswith("=24>>") for piece in pieces)  # the call's last token and its answer, one piece
    assert stream.result.tool_calls[0].result == "24"


def test_an_answer_that_does_not_fit_the_context_ends_the_generation(chain_model):
    # 2 prompt tokens + 5 sampled fill 7 of 8 positions when '=' comes: its 3-token answer does not fit
    with infir_edge.load(chain_model("torch"), n_ctx=8) as engine:
        result = engine.generate(CHAIN_PROMPT, max_new_tokens=6, tools=("calculator",))
    assert result.text == "<<48/2=" and result.finish_reason == "length" and not result.tool_calls


def test_a_stop_string_in_the_answer_ends_the_generation(chain_model):
    with infir_edge.load(chain_model("torch")) as engine:
        result = engine.generate(CHAIN_PROMPT, max_new_tokens=16, tools=("calculator",), stop=">>")
    assert result.text == "<<48/2=24" and result.finish_reason == "stop"


def test_unknown_tool_is_refused(chain_model):
    with infir_edge.load(chain_model("torch")) as engine, pytest.raises(infir_edge.InvalidRequestError,
                                                                        match="calculator"):
        engine.generate(CHAIN_PROMPT, tools=("python",))
