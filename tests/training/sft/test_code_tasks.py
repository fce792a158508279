from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from infir_edge.corpora import humaneval_problems
from training.eval.humaneval import CHAT_STOP, CODE_FENCE
from training.eval.humaneval import check as humaneval_check
from training.sft.code_tasks import (
    FAMILIES,
    CodeTask,
    check_solution,
    code_from_response,
    generate_code_tasks,
    reference_response,
    render_task,
    request_text,
)
from training.sft.errors import SFTError

ONE_PER_FAMILY = [render_task(family, 0) for family in FAMILIES]


def sandbox_statuses(runs: list[tuple[CodeTask, str]], check=check_solution) -> dict[str, dict]:
    # Each run is a process of its own: threads overlap their waits, the suite's time stays low.
    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(lambda run: check(*run), runs))
    return {task.task_id: outcome for (task, _), outcome in zip(runs, outcomes, strict=True)}


def test_there_are_at_least_40_families_with_distinct_names():
    assert len({family.name for family in FAMILIES}) == len(FAMILIES) >= 40


def test_the_same_seed_gives_the_same_tasks_and_another_seed_other_ones():
    first = generate_code_tasks(100, seed=3)
    assert first == generate_code_tasks(100, seed=3)
    assert [t.task_id for t in first] != [t.task_id for t in generate_code_tasks(100, seed=4)]


def test_generated_tasks_have_distinct_instructions_and_every_family():
    tasks = generate_code_tasks(400, seed=0)
    assert len({t.instruction for t in tasks}) == len({t.task_id for t in tasks}) == 400
    assert {t.family for t in tasks[:len(FAMILIES)]} == {family.name for family in FAMILIES}


def test_more_tasks_than_the_variants_are_refused():
    with pytest.raises(SFTError, match="count must be between"):
        generate_code_tasks(sum(family.size for family in FAMILIES) + 1, seed=0)


def test_every_reference_solution_passes_its_tests_in_the_sandbox():
    outcomes = sandbox_statuses([(task, task.solution) for task in ONE_PER_FAMILY])
    assert {k: o for k, o in outcomes.items() if o["status"] != "passed"} == {}


def test_the_complete_reply_passes_as_the_humaneval_evaluation_cuts_and_runs_it():
    def as_evaluated(task: CodeTask, reply: str) -> dict:
        generated = reply.removeprefix(CODE_FENCE)  # the evaluation writes the opening fence itself
        cut = min([generated.find(stop) for stop in CHAT_STOP if stop in generated] or [len(generated)])
        problem = {"prompt": task.stub, "test": task.tests, "entry_point": task.entry_point}
        return humaneval_check(problem, "\n" + generated[:cut])

    runs = [(task, reference_response(task, "complete")) for task in ONE_PER_FAMILY[::4]]
    outcomes = sandbox_statuses(runs, as_evaluated)
    assert {k: o for k, o in outcomes.items() if o["status"] != "passed"} == {}


def test_every_variants_stub_and_solution_compile():
    for task in generate_code_tasks(sum(family.size for family in FAMILIES), seed=0):
        compile(task.stub, task.task_id, "exec")
        compile(task.solution + task.tests, task.task_id, "exec")


def test_a_function_returning_none_fails_every_familys_tests():
    runs = [(task, f"def {task.entry_point}(*args):\n    return None\n") for task in ONE_PER_FAMILY]
    outcomes = sandbox_statuses(runs)
    assert {k: o["status"] for k, o in outcomes.items() if o["status"] != "failed"} == {}


def test_a_solution_that_exits_before_the_tests_fails():
    task = ONE_PER_FAMILY[0]
    outcome = check_solution(task, task.solution + "\nimport sys\nsys.exit(0)\n")
    assert (outcome["status"], outcome["reason"]) == ("failed", "exited before its tests had run")


def test_every_test_has_at_least_four_asserts():
    assert all(task.tests.startswith("def check(candidate):\n") and task.tests.count("    assert candidate(") >= 4
               for task in ONE_PER_FAMILY)


def test_no_function_name_is_a_humaneval_entry_point():
    entry_points = {problem["entry_point"] for problem in humaneval_problems()}
    assert {name for family in FAMILIES for name in family.fn} & entry_points == set()


def test_no_task_variant_shares_a_10_gram_with_humaneval():
    """All variants, normalized as the data pipeline's decontamination stage does (datatrove's simplify_text and
    word tokenizer, numbers -> 0)."""
    from datatrove.utils.text import ngrams, simplify_text
    from datatrove.utils.word_tokenizers import load_word_tokenizer

    from training.data.stages.decontam import DecontamConfig, DecontamStage, eval_items

    config = DecontamStage(DecontamConfig()).ngram_config()
    tokenizer = load_word_tokenizer("eng")

    def grams(text: str) -> set[str]:
        return {" ".join(g) for g in ngrams(tokenizer.word_tokenize(simplify_text(text, config.norm_config)),
                                            config.n_grams)}

    evaluation = set().union(*(grams(text) for _, text in eval_items(DecontamConfig(builtin_evals=["humaneval"]))))
    tasks = generate_code_tasks(sum(family.size for family in FAMILIES), seed=0)
    shared = {t.task_id: g for t in tasks if (g := grams(f"{t.instruction}\n{t.stub}{t.solution}") & evaluation)}
    assert shared == {}


def test_the_complete_request_is_the_evaluations_chat_prompt():
    task = ONE_PER_FAMILY[0]
    assert request_text(task, "complete") == f"Complete the following Python function.\n\n```python\n{task.stub}```"
    assert request_text(task, "instruction") == task.instruction


def test_the_complete_response_is_one_code_block_holding_the_solution():
    for task in ONE_PER_FAMILY:
        response = reference_response(task, "complete")
        assert response == f"```python\n{task.solution}```" and response.count("```") == 2
        assert code_from_response(response) == task.solution


def test_the_instruction_response_is_a_sentence_then_the_block():
    for task in ONE_PER_FAMILY:
        lead_in, block = reference_response(task, "instruction").split("\n\n", 1)
        assert "\n" not in lead_in and lead_in.endswith(":") and block == reference_response(task, "complete")


def test_code_is_taken_from_the_last_block_or_an_unclosed_one():
    assert code_from_response("no code here") is None
    assert code_from_response("a\n```python\nx = 1\n```\nthen\n```python\ny = 2\n```\nbye") == "y = 2\n"
    assert code_from_response("```python\ndef f():\n    return 1\n") == "def f():\n    return 1\n"


def test_an_unknown_style_is_refused():
    with pytest.raises(SFTError, match="style"):
        request_text(ONE_PER_FAMILY[0], "chat")


def test_a_task_survives_a_record_round_trip():
    task = generate_code_tasks(1, seed=7)[0]
    assert CodeTask.from_record(task.to_record()) == task
    with pytest.raises(SFTError, match="missing"):
        CodeTask.from_record({"task_id": "x"})
