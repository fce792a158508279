"""Code task families, part one: the `Family` template, and the families over lists of numbers and over integers.

A family is one small programming task with its variation points: function names, parameter names and constants
(`$placeholders` in the signature, docstring and body). Every combination is one variant; `code_tasks` renders a
variant into a task and computes the tests' expected values by running the reference solution on the family's inputs.

None of these is a HumanEval problem: the ones HumanEval has in some form (rolling maximum, plain palindromes,
removing duplicated elements, vowels with a final 'y', ...) were left out or changed into another task, and no
function name is a HumanEval entry point (a test checks the names and the 10-gram overlap).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from string import Template

NUMS = ("numbers", "values", "nums")
ITEMS = ("items", "values", "seq")
INT = ("n", "number", "value")


@dataclass(frozen=True)
class Family:
    name: str
    fn: tuple[str, ...]  # function name variants
    params: dict[str, tuple[str, ...]]  # placeholder -> parameter name variants, in signature order
    sig: str  # parameters and return annotation: "($a: list[int]) -> int"
    doc: str  # the docstring's text, starting with "Return" (the instruction turns it into "returns ...")
    body: str  # the reference function's body, unindented
    inputs: tuple[tuple, ...]  # argument tuples for the tests; the first is the docstring's example
    consts: dict[str, tuple] = field(default_factory=dict)  # placeholder -> constant variants (rendered with repr)

    def __post_init__(self) -> None:
        # Every constant must show in the doc, or two variants would ask the same thing with different answers.
        named = {m.group("named") for m in Template.pattern.finditer(self.doc) if m.group("named")}
        if not self.doc.startswith("Return ") or not set(self.consts) <= named or len(self.inputs) < 4:
            raise ValueError(f"family {self.name}: the doc must start with 'Return ' and name every constant, "
                             "and there must be at least 4 test inputs")

    @property
    def keys(self) -> tuple[str, ...]:
        return ("fn", *self.params, *self.consts)

    def options(self, key: str) -> tuple:
        return self.fn if key == "fn" else self.params.get(key) or self.consts[key]

    @property
    def size(self) -> int:
        return math.prod(len(self.options(key)) for key in self.keys)

    def choice(self, index: int) -> dict:
        """Variant `index` (0 <= index < size) as placeholder -> chosen value (mixed radix, last key fastest)."""
        chosen = {}
        for key in reversed(self.keys):
            options = self.options(key)
            index, digit = divmod(index, len(options))
            chosen[key] = options[digit]
        return chosen


NUMBER_FAMILIES = (
    Family("sum_multiples", ("sum_of_multiples", "total_of_multiples", "add_up_multiples"), {"a": NUMS},
           "($a: list[int]) -> int",
           "Return the sum of the numbers in the list $a that are divisible by $k. An empty list gives 0.",
           "return sum(x for x in $a if x % $k == 0)",
           (([1, 2, 3, 4, 5, 6],), ([],), ([7, 11],), ([-4, 10, 12, 15, 20],), ([0, 60],)), {"k": (2, 3, 4, 5)}),
    Family("count_above", ("count_above", "count_greater_than", "how_many_above"), {"a": NUMS},
           "($a: list[int]) -> int", "Return how many numbers in the list $a are greater than $t.",
           "return sum(1 for x in $a if x > $t)",
           (([1, 6, 11, 101],), ([],), ([-5, 0, 5],), ([10, 10, 200],), ([3, 7, 12, 150, 99],)),
           {"t": (0, 5, 10, 100)}),
    Family("running_total", ("running_total", "prefix_sums", "cumulative_sums", "accumulate_list"), {"a": NUMS},
           "($a: list[int]) -> list[int]",
           "Return a list whose element at index i is the sum of the first i + 1 numbers of $a.",
           "total = 0\nresult = []\nfor x in $a:\n    total += x\n    result.append(total)\nreturn result",
           (([1, 2, 3, 4],), ([],), ([5],), ([3, -3, 3],), ([10, 0, -2, 7],))),
    Family("dedupe_keep_order", ("dedupe", "unique_in_order", "drop_repeats", "first_occurrences"),
           {"a": ("items", "values", "elements")}, "($a: list) -> list",
           "Return the elements of $a without repeats, each kept where it first occurs, in the original order.",
           "seen = set()\nresult = []\nfor x in $a:\n    if x not in seen:\n        seen.add(x)\n"
           "        result.append(x)\nreturn result",
           (([3, 1, 3, 2, 1],), ([],), (["a", "b", "a"],), ([5, 5, 5],), ([1, 2, 3],))),
    Family("clamp_values", ("clamp_all", "clip_values", "limit_values"), {"a": NUMS}, "($a: list[int]) -> list[int]",
           "Return a copy of $a in which every number below $lo becomes $lo and every number above $hi becomes $hi.",
           "return [min(max(x, $lo), $hi) for x in $a]",
           (([-20, 5, 200],), ([],), ([-20, -5, 0, 5, 20],), ([200, 60, 30],), ([1, 2, 3],), ([-1, 101, 11],)),
           {"lo": (0, -10, 1), "hi": (10, 50, 100)}),
    Family("merge_sorted", ("merge_sorted", "merge_ordered", "combine_sorted"),
           {"a": ("first", "left", "xs"), "b": ("second", "right", "ys")},
           "($a: list[int], $b: list[int]) -> list[int]",
           "Return one ascending list holding all the numbers of $a and $b, which are both already sorted in "
           "ascending order, without calling a sort function.",
           "result = []\ni = j = 0\nwhile i < len($a) and j < len($b):\n    if $a[i] <= $b[j]:\n"
           "        result.append($a[i])\n        i += 1\n    else:\n        result.append($b[j])\n        j += 1\n"
           "return result + $a[i:] + $b[j:]",
           (([1, 4], [2, 9]), ([], [1, 2]), ([1, 4, 9], [2, 3, 10]), ([5], []), ([], []), ([1, 1, 2], [1, 3]))),
    Family("rotate_left", ("rotate_left", "shift_left", "rotate_items"), {"a": ITEMS}, "($a: list) -> list",
           "Return the list $a rotated to the left by $k positions, wrapping around as often as needed. An empty list "
           "gives an empty list.",
           "if not $a:\n    return []\nshift = $k % len($a)\nreturn $a[shift:] + $a[:shift]",
           (([1, 2, 3, 4],), ([],), (["a", "b"],), ([7],), ([1, 2, 3, 4, 5],)), {"k": (1, 2, 3)}),
    Family("pairwise_differences", ("differences", "consecutive_differences", "step_changes", "neighbour_gaps"),
           {"a": NUMS}, "($a: list[int]) -> list[int]",
           "Return the differences between neighbouring numbers of $a, each number minus the one before it. A list "
           "with fewer than two numbers gives an empty list.",
           "return [$a[i] - $a[i - 1] for i in range(1, len($a))]",
           (([1, 4, 9, 16],), ([],), ([5],), ([10, 7, 7, 12],), ([-1, 1],))),
    Family("index_of_max", ("index_of_max", "position_of_largest", "where_is_biggest", "top_index"), {"a": NUMS},
           "($a: list[int]) -> int",
           "Return the index of the largest number in $a (the first one when it occurs more than once), or -1 "
           "when $a is empty.",
           "if not $a:\n    return -1\nreturn $a.index(max($a))",
           (([3, 9, 2, 9],), ([],), ([5],), ([-4, -2, -8],), ([1, 2, 3],))),
    Family("scale_list", ("scale", "multiply_all", "times_each"), {"a": NUMS}, "($a: list[int]) -> list[int]",
           "Return a new list with every number of $a multiplied by $k.", "return [x * $k for x in $a]",
           (([1, 2, 3],), ([],), ([0],), ([-5, 4],), ([7, 7],)), {"k": (2, 3, 10, -1)}),
    Family("chunk_list", ("chunks", "split_into_chunks", "batch"), {"a": ITEMS}, "($a: list) -> list[list]",
           "Return $a cut into consecutive pieces of $k elements; the last piece holds what is left and may be "
           "shorter.",
           "return [$a[i:i + $k] for i in range(0, len($a), $k)]",
           ((["a", "b", "c", "d", "e"],), ([],), ([1],), ([1, 2, 3, 4, 5, 6, 7],), ([9, 8],)), {"k": (2, 3, 4)}),
    Family("count_between", ("count_between", "count_in_range", "how_many_between"), {"a": NUMS},
           "($a: list[int]) -> int", "Return how many numbers in the list $a are at least $lo and at most $hi.",
           "return sum(1 for x in $a if $lo <= x <= $hi)",
           (([-5, 0, 1, 9, 20, 50, 51],), ([],), ([100, -100],), ([5, 5, 5],), ([10, 15, 30],)),
           {"lo": (0, 1, -5), "hi": (9, 20, 50)}),
    Family("alternating_sum", ("alternating_sum", "plus_minus_sum", "signed_total", "zigzag_sum"), {"a": NUMS},
           "($a: list[int]) -> int",
           "Return the first number of $a minus the second, plus the third, minus the fourth, and so on. An empty "
           "list gives 0.",
           "return sum(x if i % 2 == 0 else -x for i, x in enumerate($a))",
           (([1, 2, 3, 4],), ([],), ([7],), ([5, 10, 5],), ([-1, -1, -1, -1, -1],))),
    Family("positions_of", ("positions_of", "indices_of", "find_all"), {"a": NUMS}, "($a: list[int]) -> list[int]",
           "Return the indices, in increasing order, at which the number $t appears in $a.",
           "return [i for i, x in enumerate($a) if x == $t]",
           (([0, 1, 7, 0, 1, 7],), ([],), ([2, 3],), ([7, 7, 1, 0, 0],), ([1],)), {"t": (0, 1, 7)}),
    Family("split_by_divisor", ("split_by_divisibility", "partition_multiples", "separate_multiples"), {"a": NUMS},
           "($a: list[int]) -> tuple[list[int], list[int]]",
           "Return a pair of lists: the numbers of $a that are divisible by $k, then the others, each in their "
           "original order.",
           "divisible = [x for x in $a if x % $k == 0]\nothers = [x for x in $a if x % $k != 0]\n"
           "return divisible, others",
           (([1, 2, 3, 4],), ([],), ([1, 2, 3, 4, 5, 6, 10, 15],), ([7],), ([30, 0],), ([4, 9, 25],)),
           {"k": (2, 3, 5)}),
    Family("flatten_once", ("flatten", "flatten_once", "join_lists", "concat_lists"),
           {"a": ("lists", "groups", "nested")}, "($a: list[list]) -> list",
           "Return one list with the elements of the inner lists of $a, in order.",
           "return [x for inner in $a for x in inner]",
           (([[1, 2], [3], []],), ([],), ([[], []],), ([["a"], ["b", "c"]],), ([[5, 6]],))),
    Family("interleave", ("interleave", "alternate_merge", "take_in_turns"),
           {"a": ("first", "left", "xs"), "b": ("second", "right", "ys")}, "($a: list, $b: list) -> list",
           "Return a list that takes elements from $a and $b in turn, starting with $a; when one of them runs out, "
           "the rest of the other follows.",
           "result = []\nfor i in range(max(len($a), len($b))):\n    if i < len($a):\n        result.append($a[i])\n"
           "    if i < len($b):\n        result.append($b[i])\nreturn result",
           (([1, 2, 3], ["a", "b", "c"]), ([], [4, 5]), ([1, 2, 3], [9]), ([], []), ([0], [0, 1, 2]))),
    Family("longest_rising_run", ("longest_rising_run", "longest_increasing_streak", "max_climb_length",
                                  "longest_ascending_run"), {"a": NUMS}, "($a: list[int]) -> int",
           "Return the length of the longest stretch of neighbouring numbers in $a in which each number is larger "
           "than the one before it. An empty list gives 0.",
           "if not $a:\n    return 0\nbest = current = 1\nfor i in range(1, len($a)):\n"
           "    current = current + 1 if $a[i] > $a[i - 1] else 1\n    best = max(best, current)\nreturn best",
           (([1, 2, 3, 1, 2],), ([],), ([5],), ([5, 4, 3],), ([1, 3, 5, 7, 2, 8],))),
    Family("window_sums", ("window_sums", "sliding_sums", "block_totals"), {"a": NUMS}, "($a: list[int]) -> list[int]",
           "Return the sums of every run of $k neighbouring numbers in $a, from left to right; a list shorter than "
           "$k gives an empty list.",
           "return [sum($a[i:i + $k]) for i in range(len($a) - $k + 1)]",
           (([1, 2, 3, 4, 5],), ([],), ([4],), ([1, -1, 1, -1],), ([10, 20, 30],)), {"k": (2, 3)}),
    # integers
    Family("digit_sum", ("digit_sum", "sum_of_digits", "add_digits", "digits_total"), {"a": INT}, "($a: int) -> int",
           "Return the sum of the decimal digits of the integer $a; the sign of a negative number is ignored.",
           "return sum(int(d) for d in str(abs($a)))", ((1234,), (0,), (-56,), (9,), (1000001,))),
    Family("count_digits", ("count_digits", "digit_length", "number_of_digits", "digit_count"), {"a": INT},
           "($a: int) -> int",
           "Return how many decimal digits the integer $a has, without counting a minus sign; 0 has one digit.",
           "return len(str(abs($a)))", ((12345,), (0,), (-907,), (9,), (10,))),
    Family("label_numbers", ("label_numbers", "ping_pong", "word_game"), {"a": ("n", "limit", "count")},
           "($a: int) -> list[str]",
           "Return a list of strings for the numbers 1 to $a: $w1 for multiples of $d1, $w2 for multiples of $d2, "
           "$w1 followed by $w2 for multiples of both, and the number itself as a string otherwise.",
           "result = []\nfor i in range(1, $a + 1):\n    word = ''\n    if i % $d1 == 0:\n        word += $w1\n"
           "    if i % $d2 == 0:\n        word += $w2\n    result.append(word or str(i))\nreturn result",
           ((7,), (0,), (1,), (15,), (10,)),
           {"w1": ("Ping", "Tick", "Foo"), "w2": ("Pong", "Tock", "Bar"), "d1": (2, 3), "d2": (5, 7)}),
    Family("reverse_number", ("reverse_digits", "mirror_number", "flip_number", "backwards_number"), {"a": INT},
           "($a: int) -> int",
           "Return the non-negative integer $a with its decimal digits in reverse order; leading zeros of the result "
           "disappear.",
           "return int(str($a)[::-1])", ((1234,), (0,), (1200,), (7,), (90210,))),
    Family("count_divisors", ("count_divisors", "divisor_count", "number_of_divisors", "how_many_divisors"),
           {"a": INT}, "($a: int) -> int",
           "Return how many positive integers divide the positive integer $a exactly, 1 and $a included.",
           "return sum(1 for d in range(1, $a + 1) if $a % d == 0)", ((12,), (1,), (7,), (36,), (100,))),
    Family("triangular_numbers", ("triangular_numbers", "triangle_sequence", "first_triangles", "triangle_numbers"),
           {"a": ("n", "count", "length")}, "($a: int) -> list[int]",
           "Return the first $a triangular numbers, where the k-th one is the sum 1 + 2 + ... + k.",
           "return [k * (k + 1) // 2 for k in range(1, $a + 1)]", ((5,), (0,), (1,), (8,), (2,))),
    Family("is_leap_year", ("is_leap_year", "leap_year", "has_february_29", "is_leap"), {"a": ("year", "y", "yr")},
           "($a: int) -> bool",
           "Return True when $a is a leap year of the Gregorian calendar: divisible by 4, except the years divisible "
           "by 100 that are not divisible by 400.",
           "return $a % 4 == 0 and ($a % 100 != 0 or $a % 400 == 0)", ((2024,), (1900,), (2000,), (2023,), (4,))),
    Family("digits_list", ("digits_of", "to_digit_list", "split_digits", "digit_list"), {"a": INT},
           "($a: int) -> list[int]",
           "Return the decimal digits of the non-negative integer $a as a list, the most significant one first.",
           "return [int(d) for d in str($a)]", ((2024,), (0,), (7,), (1000,), (98765,))),
    Family("count_multiples_in_range", ("count_multiples", "multiples_between", "how_many_multiples"),
           {"a": ("low", "start", "lo"), "b": ("high", "stop", "hi")}, "($a: int, $b: int) -> int",
           "Return how many multiples of $k lie between $a and $b, both included; the result is 0 when $a is greater "
           "than $b.",
           "return sum(1 for x in range($a, $b + 1) if x % $k == 0)",
           ((1, 12), (5, 1), (0, 0), (-6, 6), (7, 8)), {"k": (3, 4, 6)}),
)
