from __future__ import annotations

import pytest

from infir_edge.corpora import humaneval_problems
from training.eval.humaneval import HumanEvalConfig, canonical_failures, check, model_prompt, program, run_humaneval


@pytest.fixture(scope="module")
def tiny_engine(tiny_gguf):
    import infir_edge

    # one thread: llama.cpp's threads wait for each other by spinning, which crawls on a busy shared CPU
    with infir_edge.load(tiny_gguf, threads=1) as engine:
        yield engine


def test_the_canonical_solutions_of_the_first_20_problems_pass_in_the_sandbox():
    assert canonical_failures(humaneval_problems()[:20]) == []


@pytest.mark.slow
def test_the_canonical_solutions_of_all_164_problems_pass_in_the_sandbox():
    assert canonical_failures(humaneval_problems()) == []


def test_a_wrong_completion_fails():
    problem = humaneval_problems()[0]  # has_close_elements: a constant answer is wrong for some test
    assert check(problem, "    return False\n")["status"] == "failed"


def test_a_completion_that_exits_before_the_tests_fails():
    problem = humaneval_problems()[0]
    outcome = check(problem, "    return False\n\nimport sys\nsys.exit(0)\n")
    assert (outcome["status"], outcome["reason"]) == ("failed", "exited before its tests had run")


def test_the_program_is_prompt_completion_test_and_check():
    problem = humaneval_problems()[0]
    text = program(problem, "    return False\n")
    assert text.startswith(problem["prompt"] + "    return False\n")
    assert text.rstrip().endswith(f"check({problem['entry_point']})")
    assert problem["test"] in text


def test_the_chat_prompt_asks_for_the_function_and_opens_its_code_block(tiny_engine):
    problem = humaneval_problems()[0]
    prompt = model_prompt(tiny_engine, problem, "chat")
    template = tiny_engine.apply_chat_template([{"role": "user", "content": "REQUEST"}])
    before, after = template.split("REQUEST")
    assert prompt.startswith(before)
    assert problem["prompt"] in prompt
    assert prompt.endswith(after + "```python\n")


def test_the_completion_prompt_is_the_problem_itself():
    problem = humaneval_problems()[0]
    assert model_prompt(None, problem, "completion") == problem["prompt"]


@pytest.mark.parametrize("style", ["completion", "chat"])
def test_a_real_engine_gets_one_record_per_problem(tiny_engine, style):
    config = HumanEvalConfig(prompt_style=style, max_new_tokens=32)
    figures, records = run_humaneval(tiny_engine, limit=2, config=config)
    assert [r["task_id"] for r in records] == ["HumanEval/0", "HumanEval/1"]
    assert all(r["status"] in ("passed", "failed", "timeout", "killed", "error") for r in records)
    assert figures["problems"] == 2 and figures["prompt_style"] == style
    assert figures["pass@1"] == sum(r["status"] == "passed" for r in records) / 2
