"""The llama.cpp backend on the embedded 135M model, through the Engine API."""

from __future__ import annotations

import pytest

import infir_edge
from infir_edge.errors import ContextOverflowError, InvalidRequestError
from infir_edge.runtime.resources import physical_cores

CHAT = [{"role": "user", "content": "Name three colours of the rainbow."}]


def test_greedy_continuation_of_a_fact(llama_engine):
    generation = llama_engine.generate("The capital of France is", max_new_tokens=12)
    assert "Paris" in generation.text
    assert generation.finish_reason == "length"
    assert len(generation.token_ids) == 12


@pytest.mark.parametrize("prompt", ["The capital of France is", CHAT], ids=["text", "chat"])
def test_stream_joins_to_generate(llama_engine, prompt):
    config = infir_edge.GenerationConfig(max_new_tokens=48)
    pieces = list(llama_engine.stream(prompt, config))
    assert len(pieces) > 1
    assert "".join(pieces) == llama_engine.generate(prompt, config).text


def test_chat_reply_ends_at_end_of_turn(llama_engine):
    generation = llama_engine.generate(CHAT, max_new_tokens=200)
    assert generation.finish_reason == "stop"
    assert "<|im_end|>" not in generation.text


def test_stop_string_ends_generation_and_is_not_emitted(llama_engine):
    full = llama_engine.generate("The capital of France is", max_new_tokens=12).text
    stop = full.split()[1]  # a word the model will produce, after the first
    generation = llama_engine.generate("The capital of France is", max_new_tokens=12, stop=[stop])
    assert generation.finish_reason == "stop"
    assert generation.text == full[: full.index(stop)]


def test_characters_split_over_tokens_stream_whole(llama_engine):
    prompt = [{"role": "user", "content": "Write the Japanese word for thank you, in Japanese characters."}]
    generation = llama_engine.generate(prompt, max_new_tokens=40)
    token_bytes = [llama_engine.token_bytes(t) for t in generation.token_ids]
    assert any(not _is_utf8(b) for b in token_bytes), "the model should emit characters split over tokens"
    pieces = list(llama_engine.stream(prompt, max_new_tokens=40))
    assert all("\ufffd" not in piece for piece in pieces)
    assert "".join(pieces) == b"".join(token_bytes).decode("utf-8")


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def test_prompt_longer_than_the_context_is_refused(llama_engine):
    prompt = "word " * 2100
    with pytest.raises(ContextOverflowError) as caught:
        llama_engine.generate(prompt, max_new_tokens=16)
    message = str(caught.value)
    assert "2048" in message and str(caught.value.prompt_tokens) in message


def test_prompt_plus_new_tokens_over_the_context_is_refused(llama_engine):
    prompt = "word " * 1000
    with pytest.raises(ContextOverflowError):
        llama_engine.generate(prompt, max_new_tokens=1500)


def test_sampling_with_a_seed_is_reproducible(llama_engine):
    config = infir_edge.GenerationConfig(max_new_tokens=24, temperature=0.9, top_p=0.95, seed=7)
    first, second = (llama_engine.generate("Once upon a time", config).text for _ in range(2))
    assert first == second


def test_timings_are_measured(llama_engine):
    timings = llama_engine.generate("The history of the bicycle", max_new_tokens=16).timings
    assert timings.prompt_tokens > 0 and timings.generated_tokens == 16
    assert timings.prefill_tokens_per_s > 0 and timings.decode_tokens_per_s > 0
    assert 0 < timings.ttft_s <= timings.total_s


def test_a_second_stream_in_the_same_thread_is_refused(llama_engine):
    first = llama_engine.stream("Hello", max_new_tokens=8)
    next(first)
    with pytest.raises(InvalidRequestError, match="still streaming"):
        llama_engine.generate("Hello", max_new_tokens=4)
    first.close()
    assert llama_engine.generate("Hello", max_new_tokens=4).text


def test_info_describes_the_model(llama_engine):
    info = llama_engine.info()
    assert (info.backend, info.format, info.quantization) == ("llamacpp", "gguf", "Q4_1")
    assert info.n_ctx == 2048 and info.n_ctx_train == 8192 and info.n_vocab == 49152
    assert info.threads == physical_cores()


def test_tokenize_roundtrip(llama_engine):
    text = "<|im_start|>user\n  x = 12345;  # ünïcödé 日本\n"
    ids = llama_engine.tokenize(text)
    assert ids[0] == 1  # <|im_start|> parsed as the special token
    assert llama_engine.detokenize(ids) == text


def test_close_waits_for_a_generation_in_another_thread():
    import threading

    engine = infir_edge.load("default", n_ctx=512)
    outcome = {}

    def work():
        try:
            outcome["text"] = engine.generate("Once upon a time", max_new_tokens=200).text
        except infir_edge.InfirEdgeError as e:
            outcome["error"] = e

    worker = threading.Thread(target=work)
    worker.start()
    engine.close()
    worker.join(timeout=120)
    assert not worker.is_alive() and outcome
    with pytest.raises(InvalidRequestError, match="closed"):
        engine.generate("Hi", max_new_tokens=2)


def test_closing_under_an_open_stream_ends_the_stream():
    engine = infir_edge.load("default", n_ctx=512)
    stream = engine.stream("Once upon a time", max_new_tokens=50)
    next(stream)
    engine.close()
    with pytest.raises(InvalidRequestError, match="closed"):
        list(stream)
    with pytest.raises(InvalidRequestError, match="closed"):
        engine.tokenize("hello")


@pytest.mark.parametrize("options", [{"n_ctx": 2**32 + 64}, {"n_ctx": 4}, {"threads": 100_000}, {"threads": 0}])
def test_impossible_runtime_options_are_refused(options):
    with pytest.raises(InvalidRequestError):
        infir_edge.load("default", **options)


def test_unknown_backend_option_is_refused():
    with pytest.raises(InvalidRequestError, match="does not take"):
        infir_edge.load("default", foo=1)


@pytest.mark.parametrize("model", [None, 5])
def test_model_must_be_a_name_or_path(model):
    with pytest.raises(InvalidRequestError):
        infir_edge.load(model)


def test_text_with_lone_surrogates_is_refused(llama_engine):
    with pytest.raises(InvalidRequestError, match="Unicode"):
        llama_engine.generate("bad \udcff text", max_new_tokens=2)


def test_config_as_a_dict(llama_engine):
    assert len(llama_engine.generate("Hello", {"max_new_tokens": 3}).token_ids) == 3


def test_decode_speed_excludes_the_consumers_time(llama_engine):
    import time

    stream = llama_engine.stream("The history of the bicycle", max_new_tokens=4, ignore_eos=True)
    for _ in stream:
        time.sleep(1.0)  # a slow consumer: 3 s of its time fall between the 4 decoded tokens
    timings = stream.result.timings
    # a clock that ran while the consumer slept would count the 3 s of sleep in decode_s as well as in total_s;
    # compared with the run's own total, not a fixed budget, this holds however loaded the machine is
    assert timings.total_s > 3.0
    assert timings.decode_s + 3.0 <= timings.total_s


def test_a_prompt_of_token_ids_is_used_as_it_is(llama_engine):
    ids = llama_engine.tokenize("The capital of France is")
    assert llama_engine.generate(ids, max_new_tokens=6).text == llama_engine.generate(
        "The capital of France is", max_new_tokens=6).text


def test_a_token_id_outside_the_vocabulary_is_refused(llama_engine):
    with pytest.raises(InvalidRequestError, match="outside the vocabulary"):
        llama_engine.generate([1, 10**9], max_new_tokens=2)


def test_ignore_eos_generates_every_new_token(llama_engine):
    messages = [{"role": "user", "content": "Say hello."}]
    assert llama_engine.generate(messages, max_new_tokens=64).finish_reason == "stop"
    generation = llama_engine.generate(messages, max_new_tokens=64, ignore_eos=True)
    assert generation.finish_reason == "length" and len(generation.token_ids) == 64
