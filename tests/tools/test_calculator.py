"""The calculator's evaluator (exact, bounded, never raising through `calculate`) and its two call conventions."""

from __future__ import annotations

from fractions import Fraction

import pytest

from infir_edge.tools.calculator import ERROR, Calculator, CalculatorError, calculate, evaluate, format_number


@pytest.mark.parametrize("expression,value", [
    ("12*23", "276"), ("48/2", "24"), ("7 - 10", "-3"), ("2**10", "1024"), ("17 // 5", "3"), ("17 % 5", "2"),
    ("(3 + 4) * 5", "35"), ("-(2 - 5)", "3"), ("0.1 + 0.2", "0.3"), ("1,250 * 4", "5000"), ("3 × 4 ÷ 6", "2"),
    ("2^3", "8"), ("2 ** -2", "0.25"), ("1e3 / 8", "125"), (" 5 ", "5"),
])
def test_evaluates_arithmetic_exactly(expression, value):
    assert calculate(expression) == value


@pytest.mark.parametrize("value,text", [
    (Fraction(5, 2), "2.5"), (Fraction(1, 8), "0.125"), (Fraction(10, 3), "3.333333"), (Fraction(-2, 3), "-0.666667"),
    (Fraction(1, 3_000_000), "0"), (Fraction(-1, 3_000_000), "0"), (Fraction(5, 10**7), "0"),
    (Fraction(15, 10**7), "0.000002"), (Fraction(1234567), "1234567"),
])
def test_rounds_only_non_terminating_or_long_decimals_half_to_even_at_six_places(value, text):
    assert format_number(value) == text


@pytest.mark.parametrize("expression", [
    "x + 1", "abs(-3)", "(1).real", "'12' * 3", "[1, 2]", "1 < 2", "1 if 1 else 2", "lambda: 1", "__import__('os')",
    "True + 1", "1, 2", "a = 1", "",
])
def test_refuses_anything_but_numbers_and_operators(expression):
    with pytest.raises(CalculatorError):
        evaluate(expression)
    assert calculate(expression) == ERROR


@pytest.mark.parametrize("expression", ["1/0", "5 // 0", "5 % 0", "0 ** -1"])
def test_division_by_zero_is_an_error(expression):
    assert calculate(expression) == ERROR


@pytest.mark.parametrize("expression", ["9 ** 9 ** 9", "2 ** 1000", "10 ** 30", "2 ** 0.5", "(1/3) ** 65",
                                        "99999999999999 * 99999999999999", "1e300", "1e999"])
def test_huge_or_inexact_powers_and_values_are_errors_without_being_computed(expression):
    assert calculate(expression) == ERROR


def test_deep_nesting_is_an_error():
    assert calculate("(" * 25 + "1" + "+1)" * 25) == ERROR  # 25 additions deep
    assert calculate("-" * 30 + "1") == ERROR
    assert calculate("(" * 10 + "1" + "+1)" * 10) == "11"
    assert calculate("(" * 40 + "1" + ")" * 40) == "1"  # parentheses alone nest nothing


def test_over_long_input_is_an_error():
    assert calculate("+".join(["1"] * 100)) == ERROR


def test_a_non_string_is_an_error():
    assert calculate(12) == ERROR


def test_markup_call_is_answered_and_closed():
    call = Calculator().call("Natalia sold <<48/2=")
    assert (call.tool, call.expression, call.result, call.inserted) == ("calculator", "48/2", "24", "24>>")


def test_markup_error_is_the_tools_text():
    assert Calculator().call("<<1/0=").inserted == "error>>"


@pytest.mark.parametrize("text,expression,inserted", [
    ("So he pays 12 * 23 =", "12 * 23", " 276"),
    ("Step 1. 3 + 4 =", "3 + 4", " 7"),
    ("costs $12 * 3 =", "12 * 3", " 36"),
    ("(12 + 3) * 2 =", "(12 + 3) * 2", " 30"),
])
def test_plain_call_is_an_expression_before_equals(text, expression, inserted):
    call = Calculator().call(text)
    assert (call.expression, call.inserted) == (expression, inserted)


@pytest.mark.parametrize("text", ["x =", "The answer =", "2 =", "if n % 2 =", "a == b", "12 * 23", "<<3*4=12>>"])
def test_text_that_is_no_call(text):
    assert Calculator().call(text) is None


def test_conventions_can_be_chosen():
    assert Calculator(conventions=("markup",)).call("12 * 23 =") is None
    assert Calculator(conventions=("plain",)).call("<<12*23=").inserted == " 276"
    with pytest.raises(ValueError):
        Calculator(conventions=("latex",))
