"""Answer extraction, and reasoning with votes and a budget on the embedded model."""

from __future__ import annotations

import pytest

from infir_edge.errors import InvalidRequestError
from infir_edge.reasoning import extract_answer, guess_format


@pytest.mark.parametrize(
    "text,expected",
    [
        ("3 + 5 = 8. The answer is 8.", "8"),
        ("First 12 * 3 = 36, then 36 - 6 = 30.\nAnswer: 30", "30"),
        ("So he pays $1,250.50 in total. The answer is $1,250.50", "1250.5"),
        ("We get \\boxed{42}", "42"),
        ("The answer is 7 apples, not 9.", "7"),
        ("no cue here, but 4 then 15", "15"),
        ("#### -3", "-3"),
        ("nothing numeric", None),
    ],
)
def test_number_extraction(text, expected):
    assert extract_answer(text, "number") == expected


@pytest.mark.parametrize(
    "text,expected",
    [("Because of X, the answer is (B).", "B"), ("Answer: C", "C"), ("I pick A) since ...", "A")],
)
def test_choice_extraction(text, expected):
    assert extract_answer(text, "choice") == expected


def test_code_extraction_takes_the_last_block():
    text = "Try:\n```python\nx = 1\n```\nBetter:\n```python\ndef f():\n    return 2\n```"
    assert extract_answer(text, "code") == "def f():\n    return 2"


def test_format_is_guessed_from_the_question():
    assert guess_format("Which is larger?\n(A) 3\n(B) 5") == "choice"
    assert guess_format("Write a Python function that reverses a list.") == "code"
    assert guess_format("Tom has 3 apples and eats one. How many are left?") == "number"


def test_budget_cuts_the_chain_and_forces_an_answer(llama_engine):
    result = llama_engine.reason("What is 17 + 25?", budget=6)
    assert result.budget_exhausted == 1
    assert "The answer is" in result.steps
    assert result.answer is not None


def test_votes_sample_k_chains_and_count_them(llama_engine):
    result = llama_engine.reason("What is 6 + 3?", votes=3, budget=48, seed=1)
    assert len(result.chains) == 3
    assert sum(result.votes.values()) <= 3
    assert result.answer is None or result.votes[result.answer] == max(result.votes.values())


def test_greedy_reasoning_is_deterministic(llama_engine):
    a = llama_engine.reason("What is 10 + 5?", budget=64)
    b = llama_engine.reason("What is 10 + 5?", budget=64)
    assert (a.answer, a.steps) == (b.answer, b.steps)


@pytest.mark.parametrize("options", [{"votes": 0}, {"budget": 0}, {"answer_format": "poem"}])
def test_bad_options_are_refused(llama_engine, options):
    with pytest.raises(InvalidRequestError):
        llama_engine.reason("What is 1 + 1?", **options)


class ScriptedEngine:
    """Answers generate() calls from a script, to test the voting arithmetic on known chains."""

    n_ctx = 4096

    def __init__(self, chains: list[str]) -> None:
        self.chains = iter(chains)

    def apply_chat_template(self, messages) -> str:
        return messages[-1]["content"]

    def tokenize(self, text: str, add_special: bool = True) -> list[int]:
        return list(range(len(text.split())))

    def generate(self, prompt, config=None, **overrides):
        from infir_edge.runtime.generation import Generation

        return Generation(text=next(self.chains), finish_reason="stop")


def test_majority_wins_and_ties_go_to_the_earliest_chain():
    from infir_edge.reasoning import reason

    chains = ["The answer is 5.", "The answer is 7.", "The answer is 7.", "no idea", "The answer is 5."]
    result = reason(ScriptedEngine(chains), "What is 2 + 5?", votes=5)
    assert result.votes == {"5": 2, "7": 2}
    assert result.answer == "5" and result.steps == chains[0]


def test_equals_sign_in_the_cued_line():
    assert extract_answer("The answer is 12 + 30 = 42.", "number") == "42"


def test_budget_that_cannot_fit_is_refused_up_front(llama_engine):
    from infir_edge.errors import ContextOverflowError

    with pytest.raises(ContextOverflowError):
        llama_engine.reason("What is 1 + 1?", budget=llama_engine.n_ctx)


def test_unbounded_thinking_fits_a_small_context():
    import infir_edge

    with infir_edge.load("default", n_ctx=160) as engine:
        result = engine.reason("Describe, step by step, how to add 123 and 456.", budget=None)
    assert result.steps


@pytest.mark.parametrize("options", [{"seed": None}, {"seed": -1}, {"answer_format": ["number"]}, {"votes": True}])
def test_malformed_options_are_refused(llama_engine, options):
    with pytest.raises(InvalidRequestError):
        llama_engine.reason("What is 1 + 1?", **options)
