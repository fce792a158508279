from benchmarks.corpora import wikipedia_summaries, wikipedia_text, word_problems


def test_the_wikipedia_summaries_are_the_installed_ten_thousand():
    assert len(wikipedia_summaries()) > 10_000


def test_wikipedia_text_is_a_fixed_slice_of_at_least_the_asked_size():
    text = wikipedia_text(5000)
    assert len(text) >= 5000 and text == wikipedia_text(5000)
    assert wikipedia_text(5000, skip_articles=500) != text


def test_word_problems_are_reproducible_from_their_seed():
    assert word_problems(10, seed=3) == word_problems(10, seed=3)
    assert word_problems(10, seed=3) != word_problems(10, seed=4)


def test_word_problem_answers_are_computed_from_the_numbers_in_the_question():
    import re

    for problem in word_problems(200):
        a, b = (int(n) for n in re.findall(r"\d+", problem.question))
        q = problem.question
        expected = a + b if "more" in q else a - b if "away" in q else a * b if "each bag" in q else a // b
        assert problem.answer == expected and problem.answer >= 0
