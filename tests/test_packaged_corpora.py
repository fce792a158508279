"""The corpora that ship in PyPI packages are found without a download."""

from infir_edge.corpora import humaneval_problems, stdlib_source_files, wikipedia_articles


def test_the_wikipedia_summaries_are_the_installed_ten_thousand():
    assert len(wikipedia_articles()) > 10_000 and all(title and text for title, text in wikipedia_articles()[:50])


def test_humaneval_has_its_164_problems_with_solutions():
    problems = humaneval_problems()
    assert len(problems) == 164 and all(p["canonical_solution"] and p["prompt"] for p in problems)


def test_the_stdlib_source_is_hundreds_of_modules_without_tests():
    files = stdlib_source_files()
    assert len(files) > 300 and not any("test" in f.parts for f in files)
