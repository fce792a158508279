"""The planted test corpus: real documents plus near-duplicates, contamination and junk, each labelled, so a pipeline
run can be scored (`planted_rates`) against what it should have removed and kept.

Every document carries `metadata["planted"]`: "good" (a real document, chosen to be one a filter should keep),
"near_dup" (`near_dup_of`: the good document it copies), "contamination" (`contaminated_with`: the evaluation item it
embeds) or "junk" (`junk_kind`: what heuristic filters exist to drop).
"""

from __future__ import annotations

import ast
import random
import re
from collections import Counter
from collections.abc import Iterator
from itertools import chain, islice
from pathlib import Path

from training.data.errors import DataError
from training.data.sources import builtin_documents, read_jsonl, write_jsonl

PLANTED_KINDS = ("good", "near_dup", "contamination", "junk")
DOMAIN_SHARES = {"web": 0.6, "code": 0.2, "math": 0.2}
NEAR_DUP_RATE, CONTAMINATION_RATE, JUNK_RATE = 0.10, 0.05, 0.10
# A good document is one a pipeline should keep. Wikipedia summaries under 400 characters or 5 sentences are real but
# too short to be documents (C4 wants 5 sentences, Gopher 50 words); standard-library files under 400 characters
# are mostly `__init__.py` re-exports.
MIN_GOOD_CHARS, MIN_WEB_SENTENCES = 400, 5
MIN_NEAR_DUP_WORDS = 120  # a small edit to a short text moves too many shingles
MIN_NEAR_DUP_JACCARD = 0.8


def build_mixed_corpus(out_file: Path, *, good: int = 600, seed: int = 0) -> dict:
    """Write the corpus to `out_file` (one JSONL file, gzipped if the name ends in .gz), in an order shuffled by
    `seed`; returns the number of documents per planted kind."""
    rng = random.Random(f"corpus/{seed}")
    counts = {"code": round(good * DOMAIN_SHARES["code"]), "math": round(good * DOMAIN_SHARES["math"])}
    counts["web"] = good - counts["code"] - counts["math"]
    rates = (NEAR_DUP_RATE, CONTAMINATION_RATE, JUNK_RATE)
    n_near_dup, n_contamination, n_junk = (round(good * rate) for rate in rates)
    n_arithmetic = n_contamination // 2
    n_humaneval = n_contamination - n_arithmetic

    web = (d for d in builtin_documents(wiki=None, code=0, math=0, seed=seed) if _reasonable(d))
    code = (d for d in builtin_documents(wiki=0, code=None, math=0, seed=seed) if _reasonable(d))
    math_documents = list(builtin_documents(wiki=0, code=0, math=counts["math"] + n_arithmetic, seed=seed))
    good_documents = [*_next(web, counts["web"]), *_next(code, counts["code"]), *math_documents[: counts["math"]]]
    for document in good_documents:
        document["metadata"]["planted"] = "good"

    planted = [
        *_near_duplicates(good_documents, n_near_dup, rng),
        *_contamination(n_humaneval, math_documents[counts["math"] :], _next(code, n_humaneval), rng),
        *_junk(n_junk, _next(code, n_junk), rng),
    ]
    documents = good_documents + planted
    rng.shuffle(documents)
    write_jsonl(documents, Path(out_file))
    return dict(Counter(d["metadata"]["planted"] for d in documents))


def _reasonable(document: dict) -> bool:
    text = document["text"]
    if len(text) < MIN_GOOD_CHARS:
        return False
    return document["metadata"]["domain"] != "web" or len(re.findall(r"[.!?](\s|$)", text)) >= MIN_WEB_SENTENCES


def _next(documents: Iterator[dict], count: int) -> list[dict]:
    taken = list(islice(documents, count))
    if len(taken) < count:
        raise DataError(f"the built-in corpora have only {len(taken)} suitable documents, {count} were needed")
    return taken


def shingles(text: str, n: int = 5) -> set[tuple[str, ...]]:
    """Word n-grams of the lowercased text, punctuation ignored (as near-deduplication sees it)."""
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def shingle_jaccard(a: str, b: str, n: int = 5) -> float:
    first, second = shingles(a, n), shingles(b, n)
    return len(first & second) / len(first | second) if first | second else 1.0


# ---- near-duplicates: realistic re-posts of a good document -----------------------------------------------------

HEADERS = {
    "web": ("Advertisement\n\n", "From the archive — reposted with permission.\n\n", "Share | Tweet | Email\n\n"),
    "code": ("# Copyright (c) 2021 Example Org. Vendored copy, do not modify.\n", "# flake8: noqa\n",
             "#!/usr/bin/env python3\n# -*- coding: utf-8 -*-\n"),
    "math": ("Worksheet 4 (answers included)\n\n", "Homework help: practice set\n\n"),
}  # fmt: skip
FOOTERS = {
    "web": ("\n\nThis article is licensed under CC BY-SA 4.0.", "\n\nRelated: Home | Contact | Privacy policy"),
    "code": ("\n# end of file\n", "\n# Source: mirrored from the CPython repository.\n"),
    "math": ("\n\nPrint this page for classroom use.", "\n\nMore practice problems next week."),
}


def _near_duplicates(good_documents: list[dict], count: int, rng: random.Random) -> list[dict]:
    """`count` copies of distinct long good documents; every fourth is exact, the rest carry one realistic edit
    (a boilerplate header/footer, whitespace and punctuation noise, a dropped or added sentence), kept only when the
    5-gram shingle Jaccard with the original stays >= 0.8."""
    candidates = [d for d in good_documents if len(re.findall(r"\w+", d["text"])) >= MIN_NEAR_DUP_WORDS]
    rng.shuffle(candidates)
    edits = (_exact, _header_footer, _noise, _sentence_edit)
    copies: list[dict] = []
    for original in candidates:
        if len(copies) == count:
            break
        edit = edits[len(copies) % len(edits)]
        text = edit(original["text"], original["metadata"]["domain"], rng)
        if shingle_jaccard(text, original["text"]) < MIN_NEAR_DUP_JACCARD:
            continue
        metadata = {**original["metadata"], "planted": "near_dup", "near_dup_of": original["id"],
                    "edit": edit.__name__.lstrip("_")}  # fmt: skip
        copies.append({"text": text, "id": f"near-dup/{len(copies):04d}", "metadata": metadata})
    if len(copies) < count:
        raise DataError(f"only {len(copies)} good documents are long enough to copy, {count} near-duplicates wanted")
    return copies


def _exact(text: str, domain: str, rng: random.Random) -> str:
    return text


def _header_footer(text: str, domain: str, rng: random.Random) -> str:
    return rng.choice(HEADERS[domain]) + text + rng.choice(FOOTERS[domain])


def _noise(text: str, domain: str, rng: random.Random) -> str:
    """Code: trailing spaces and doubled blank lines. Prose: doubled spaces and curly quotes (not trailing spaces,
    which FineWeb's line-punctuation rule would drop the copy for, leaving deduplication nothing to find)."""
    if domain == "code":
        lines = [line + " " * rng.choice((0, 0, 0, 1, 2)) + ("\n" if rng.random() < 0.1 else "") for line in
                 text.split("\n")]  # fmt: skip
        return "\n".join(lines)
    text = re.sub(r"\. ", lambda m: ".  " if rng.random() < 0.3 else m.group(), text)
    return text.replace('"', "\u201d").replace("'", "\u2019")


def _sentence_edit(text: str, domain: str, rng: random.Random) -> str:
    """Prose loses one sentence (not the first); code gains a comment line, as a local patch would."""
    if domain == "code":
        lines = text.split("\n")
        at = rng.randrange(1, len(lines))
        return "\n".join([*lines[:at], "# NOTE: kept in sync with upstream manually.", *lines[at:]])
    sentences = re.split(r"(?<=[.!?]) ", text)
    if len(sentences) < 3:
        return text + " See also the references below."
    del sentences[rng.randrange(1, len(sentences))]
    return " ".join(sentences)


# ---- contamination: evaluation items inside otherwise ordinary documents ----------------------------------------

BLOG_OPENINGS = (
    "I have been practising coding interview questions every evening, and this one took me longer than it should "
    "have. The problem statement is given as a Python function with a docstring, so I will paste it with my answer.",
    "A reader asked how I would solve the following exercise. It is a nice example of reading the examples in the "
    "docstring carefully before writing any code, so here is the full function as I submitted it.",
)
BLOG_CLOSINGS = (
    "The solution passes all the examples in the docstring. If you see a simpler way to write it, let me know in the "
    "comments. Next week I will look at a harder problem from the same collection.",
    "That is all there is to it. The important part is to test the edge cases: an empty input, a single element, and "
    "values at the boundaries. Thanks for reading, and happy coding.",
)
BLOG_EXPLANATIONS = (
    "The approach is to walk through the input once and build the result as we go. Each example in the docstring is "
    "a small test case, so I checked them one by one before moving on. Keeping the loop simple makes the code easy "
    "to read, and it also makes the running time obvious: it is linear in the size of the input.",
    "My first attempt was too clever, so I rewrote it in the most direct way I could think of. Python's built-in "
    "functions do most of the work here, and the remaining logic fits in a few lines. I like solutions where the "
    "code reads almost like the problem statement itself.",
)
BLOG_MAX_CODE_LINES = 20
FORUM_POST = (  # the worked examples the poster quotes (a math text of its own) keep two posts from being near-dups
    "Posted in Homework Help. Hi everyone, I am stuck on this question from my revision sheet and my answer does not "
    "match the key. The question says:\n\n{question}\n\nThe answer key gives {answer}. Can someone explain how they "
    "got that? These are the worked examples from class that I tried to follow:\n\n{examples}\n\nReply: Work through "
    "it one step at a time and write down every intermediate value, as in the examples. The key is right: the answer "
    "is {answer}."
)


def _contamination(n_humaneval: int, math_hosts: list[dict], code_hosts: list[dict], rng: random.Random) -> list[dict]:
    """HumanEval prompt + canonical solution appended to a standard-library file or quoted in a blog post; arithmetic
    evaluation items added to a worked-math text as one more example, or quoted in a homework-forum post (math:
    its numbers would fail the web rules' alphabetic-word share)."""
    from infir_edge.corpora import humaneval_problems
    from training.eval.arithmetic import eval_set_files, load_eval_set

    problems = list(humaneval_problems())
    rng.shuffle(problems)
    # Blog posts quote short, brace-free functions: a "{" (C4) or mostly short code lines (FineWeb) would have the
    # web filters drop the post before decontamination sees it; code files take any problem.
    blogged = [p for p in problems if "{" not in _function(p) and _function(p).count("\n") <= BLOG_MAX_CODE_LINES]
    blogged = blogged[: n_humaneval // 2]
    hosted = [p for p in problems if p not in blogged][: n_humaneval - len(blogged)]
    documents = []
    for problem, host in zip(hosted, code_hosts, strict=False):
        documents.append((host["text"].rstrip("\n") + "\n\n\n" + _function(problem), "code", problem["task_id"]))
    for problem in blogged:
        prose = [rng.choice(forms) for forms in (BLOG_OPENINGS, BLOG_EXPLANATIONS, BLOG_CLOSINGS)]
        lines = [*prose[0].split(". "), "", _function(problem), *prose[1].split(". "), *prose[2].split(". ")]
        documents.append(("\n".join(lines), "web", problem["task_id"]))
    items = list(chain.from_iterable(load_eval_set(path) for path in eval_set_files()))
    for index, (item, host) in enumerate(zip(rng.sample(items, len(math_hosts)), math_hosts, strict=True)):
        if index % 2 == 0:
            example = f"Example 6. {item['question']}\nAnswer: {item['answer']}"
            text, domain = f"{host['text']}\n\n{example}", "math"
        else:
            text, domain = FORUM_POST.format(examples=host["text"], **item), "math"
        documents.append((text, domain, item["id"]))
    return [
        {
            "text": text,
            "id": f"contamination/{index:04d}",
            "metadata": {"domain": domain, "source": "planted", "planted": "contamination", "contaminated_with": ref},
        }
        for index, (text, domain, ref) in enumerate(documents)
    ]


def _junk(count: int, code_hosts: list[dict], rng: random.Random) -> list[dict]:
    """`count` junk documents cycling through `JUNK_KINDS`."""
    documents = []
    for index in range(count):
        kind, domain, make = JUNK_KINDS[index % len(JUNK_KINDS)]
        metadata = {"domain": domain, "source": "planted", "planted": "junk", "junk_kind": kind}
        text = make(rng, code_hosts[index]["text"])
        documents.append({"text": text, "id": f"junk/{index:04d}", "metadata": metadata})
    return documents


# ---- junk: what heuristic filters exist to drop (each maker takes the rng and a real code document) --------------

MENU = ("Home", "About us", "Products", "Services", "Blog", "Careers", "Contact", "Login", "Register", "FAQ",
        "Shipping", "Returns", "Gift cards", "Store locator", "Newsletter", "Privacy policy", "Terms of use", "Sitemap")
SPAM = ("cheap", "best", "deal", "discount", "free", "shipping", "buy", "online", "sale", "price", "viagra", "casino",
        "bonus", "loans", "fast", "now", "top", "rated", "hotels", "flights")
PROMOS = ("Click here to subscribe to our newsletter!", "Limited offer: sign up today and save 20%.",
          "Follow us on social media for daily updates.")
FRAGMENTS = ("Read more »", "Page 2 of 14. Next »", "Loading comments...", "Sign in to continue reading this article.",
             "404 - Page not found.")
LOREM = ("lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit", "sed", "do", "eiusmod",
         "tempor", "incididunt", "ut", "labore", "et", "dolore", "magna", "aliqua", "enim", "ad", "minim", "veniam")


def _nav_menu(rng: random.Random, code: str) -> str:
    rows = [" | ".join(rng.sample(MENU, 5)) for _ in range(rng.randint(15, 30))]
    return "\n".join(["Skip to main content", *rows, "© 2024 All rights reserved."])


def _repeated_lines(rng: random.Random, code: str) -> str:
    return "\n".join(rng.choice(PROMOS[:2]) for _ in range(rng.randint(15, 30)))


def _keyword_spam(rng: random.Random, code: str) -> str:
    return "\n".join(" ".join(rng.choices(SPAM, k=rng.randint(8, 12))) for _ in range(rng.randint(15, 25)))


def _lorem_ipsum(rng: random.Random, code: str) -> str:
    paragraphs = [" ".join(rng.choices(LOREM, k=rng.randint(40, 70))).capitalize() + "." for _ in range(4)]
    return "Lorem ipsum dolor sit amet. " + "\n\n".join(paragraphs)


def _number_table(rng: random.Random, code: str) -> str:
    rows = [f"{2000 + i} | " + " | ".join(f"{rng.uniform(0, 999):.1f}" for _ in range(5)) for i in range(40)]
    return "\n".join(["Year | Q1 | Q2 | Q3 | Q4 | Total", *rows])


def _short_fragment(rng: random.Random, code: str) -> str:
    return rng.choice(FRAGMENTS)


def _random_characters(rng: random.Random, code: str) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!@#$%^&*()_+=~<>?/\\|"
    words = ("".join(rng.choices(alphabet, k=rng.randint(3, 25))) for _ in range(rng.randint(60, 120)))
    return " ".join(words)


def _autogenerated_code(rng: random.Random, code: str) -> str:
    blob = "".join(f"\\x{rng.randrange(256):02x}" for _ in range(600))
    offsets = "\n".join(f"  _globals['_MSG{i}']._serialized_start={rng.randrange(10**4)}" for i in range(30))
    return (
        f"# -*- coding: utf-8 -*-\n# Generated by the protocol buffer compiler.  DO NOT EDIT!\n"
        f"# source: service_{rng.randrange(100)}.proto\n\"\"\"Generated protocol buffer code.\"\"\"\n"
        f"from google.protobuf import descriptor_pool as _descriptor_pool\n\n"
        f"DESCRIPTOR = _descriptor_pool.Default().AddSerializedFile(b'{blob}')\n\n"
        f"_globals = globals()\nif _descriptor._USE_C_DESCRIPTORS == False:\n{offsets}\n"
    )


def _unparseable_code(rng: random.Random, code: str) -> str:
    """Code scraped from a web page that lost its line breaks; a snippet that still parses gets a stray bracket."""
    text = " ".join(line.strip() for line in code.splitlines()[:60] if line.strip())
    try:
        ast.parse(text)
    except SyntaxError:
        return text
    return text + " )"


JUNK_KINDS = (
    ("nav_menu", "web", _nav_menu),
    ("repeated_lines", "web", _repeated_lines),
    ("keyword_spam", "web", _keyword_spam),
    ("lorem_ipsum", "web", _lorem_ipsum),
    ("number_table", "web", _number_table),
    ("short_fragment", "web", _short_fragment),
    ("random_characters", "web", _random_characters),
    ("autogenerated_code", "code", _autogenerated_code),
    ("unparseable_code", "code", _unparseable_code),
)


# ---- scoring a pipeline run against the labels -------------------------------------------------------------------


def planted_rates(corpus_file: Path, out_dir: Path) -> dict:
    """How a pipeline run (`out_dir/kept/`, `out_dir/removed/<stage>/...`) treated the planted documents: the
    fractions of contamination and junk removed, of near-duplicate pairs (copy, original) with at most one kept, of
    good documents kept, each as {numerator, denominator, rate}; and per stage, how many of each kind it removed."""
    labels = {str(d["id"]): d.get("metadata") or {} for d in read_jsonl(Path(corpus_file))}
    kept = {str(d["id"]) for path in sorted(Path(out_dir, "kept").glob("**/*.jsonl.gz")) for d in read_jsonl(path)}
    removed_by_stage: dict[str, Counter] = {}
    removed = set()
    removed_root = Path(out_dir, "removed")
    for path in sorted(removed_root.glob("**/*.jsonl.gz")):
        stage = path.relative_to(removed_root).parts[0]
        for document in read_jsonl(path):
            removed.add(str(document["id"]))
            kind = labels.get(str(document["id"]), {}).get("planted", "unlabelled")
            removed_by_stage.setdefault(stage, Counter())[kind] += 1

    of_kind = {kind: [i for i, m in labels.items() if m.get("planted") == kind] for kind in PLANTED_KINDS}
    pairs = [(i, labels[i]["near_dup_of"]) for i in of_kind["near_dup"]]
    resolved = sum(1 for copy, original in pairs if not (copy in kept and original in kept))
    return {
        "contamination_removed": _fraction(removed, of_kind["contamination"]),
        "junk_removed": _fraction(removed, of_kind["junk"]),
        "near_dup_pairs_resolved": {"numerator": resolved, "denominator": len(pairs),
                                    "rate": resolved / len(pairs) if pairs else None},
        "good_kept": _fraction(kept, of_kind["good"]),
        "removed_by_stage": {stage: dict(sorted(c.items())) for stage, c in sorted(removed_by_stage.items())},
        "unaccounted": len(set(labels) - kept - removed),  # neither kept nor removed: lost by the run
    }


def _fraction(found: set[str], ids: list[str]) -> dict:
    """How many of `ids` are in `found`, out of how many."""
    numerator = len(found.intersection(ids))
    return {"numerator": numerator, "denominator": len(ids), "rate": numerator / len(ids) if ids else None}


def _function(problem: dict) -> str:
    return problem["prompt"] + problem["canonical_solution"]
