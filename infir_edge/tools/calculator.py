"""The calculator: exact arithmetic on what the model writes, so that a small model plans and the device computes.

The evaluator takes numbers, `+ - * / // % **` and parentheses, through Python's `ast` (never `eval`): no names,
calls, attributes, strings or comparisons. Arithmetic is exact (`fractions.Fraction`: 0.1 + 0.2 is 0.3); limits
keep a hostile or runaway expression cheap: its length, its nesting depth, the magnitude of every intermediate
value and the exponent of a power. Any failure is the text `error`, never an exception: the model reads it as it
would read a result.

Rounding rule: a result is written exactly when its decimal expansion ends within `DECIMALS` places (2.5,
0.125); otherwise it is rounded half to even at `DECIMALS` places (10/3 -> 3.333333). Integers have no decimal
point, thousands no separators.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from fractions import Fraction

from infir_edge.tools.call import ToolCall

MAX_LENGTH = 120  # characters of an expression
MAX_DEPTH = 24  # nesting of the parsed expression
MAX_MAGNITUDE = Fraction(10) ** 24  # of any literal or intermediate value
MAX_EXPONENT = 64  # |b| in a ** b; b must be an integer
DECIMALS = 6
ERROR = "error"

_BINARY = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")  # 1,250 -> 1250 (a comma between digit groups)
_SYMBOLS = str.maketrans({"×": "*", "÷": "/", "−": "-", "^": "**"})


class CalculatorError(ValueError):
    """Why an expression has no value; the tool's text is ERROR."""


def calculate(expression: str) -> str:
    """The value of `expression` as the model should read it: a number, or ERROR."""
    try:
        return format_number(evaluate(expression))
    except CalculatorError:
        return ERROR


def evaluate(expression: str) -> Fraction:
    """The exact value of an arithmetic expression; CalculatorError says why there is none."""
    if not isinstance(expression, str):
        raise CalculatorError("the expression is not text")
    if len(expression) > MAX_LENGTH:
        raise CalculatorError(f"the expression is longer than {MAX_LENGTH} characters")
    text = _normalized(expression)
    if not text:
        raise CalculatorError("the expression is empty")
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError):  # ValueError: a NUL byte
        raise CalculatorError(f"not an arithmetic expression: {expression!r}") from None
    return _value(tree.body, depth=0)


def _normalized(expression: str) -> str:
    """Python's spelling of what a person writes: `×` is `*`, `^` is `**`, `1,250` is `1250`."""
    return _THOUSANDS.sub("", expression.translate(_SYMBOLS)).strip()


def _value(node: ast.AST, depth: int) -> Fraction:
    if depth > MAX_DEPTH:
        raise CalculatorError(f"the expression nests deeper than {MAX_DEPTH}")
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise CalculatorError(f"not a number: {node.value!r}")
        if isinstance(node.value, float) and not math.isfinite(node.value):
            raise CalculatorError(f"a value exceeds {MAX_MAGNITUDE}")
        # the literal as written, not its binary float: Fraction("0.1") is exactly 1/10
        value = Fraction(ast.unparse(node)) if isinstance(node.value, float) else Fraction(node.value)
        return _bounded(value)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_value(node.operand, depth + 1))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        return _power(_value(node.left, depth + 1), _value(node.right, depth + 1))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _value(node.left, depth + 1), _value(node.right, depth + 1)
        if right == 0 and isinstance(node.op, (ast.Div, ast.FloorDiv, ast.Mod)):
            raise CalculatorError("division by zero")
        return _bounded(_BINARY[type(node.op)](left, right))
    raise CalculatorError(f"only numbers, + - * / // % ** and parentheses are allowed, not {type(node).__name__}")


def _power(base: Fraction, exponent: Fraction) -> Fraction:
    if exponent.denominator != 1:
        raise CalculatorError("the exponent of a power must be an integer")
    if abs(exponent) > MAX_EXPONENT:
        raise CalculatorError(f"the exponent of a power must be at most {MAX_EXPONENT}")
    if base == 0 and exponent < 0:
        raise CalculatorError("division by zero")
    # the size of the result before computing it: |n|**e and |d|**e must both stay in bounds
    for part in (base.numerator, base.denominator):
        if part and abs(exponent) * math.log10(abs(part)) > math.log10(MAX_MAGNITUDE) + 1:
            raise CalculatorError("the power is too large")
    return _bounded(base ** int(exponent))


def _bounded(value: Fraction) -> Fraction:
    if abs(value) > MAX_MAGNITUDE or value.denominator > MAX_MAGNITUDE:
        raise CalculatorError(f"a value exceeds {MAX_MAGNITUDE}")
    return value


def format_number(value: Fraction) -> str:
    """`value` as decimal text under the rounding rule above."""
    scaled = value * 10**DECIMALS
    if scaled.denominator != 1:  # the expansion does not end within DECIMALS places
        scaled = Fraction(round(scaled))  # round() on a Fraction rounds half to even
    sign = "-" if scaled < 0 else ""
    whole, fraction = divmod(abs(int(scaled)), 10**DECIMALS)
    digits = str(fraction).rjust(DECIMALS, "0").rstrip("0")
    text = f"{whole}.{digits}" if digits else str(whole)
    return "0" if text == "0" else sign + text


class Calculator:
    """Finds calculator calls in generated text, in either convention, and answers them.

    markup, as GSM8K's solutions annotate their arithmetic (Cobbe et al. 2021): `<<48/2=` -> `24>>`;
    plain, an expression the model writes before ` =`, as any model writes arithmetic: `12 * 23 =` -> ` 276`.
    A plain call needs a whole expression with an operator: `x =`, `2 =` or `if n % 2 =` are no calls.
    """

    name = "calculator"

    def __init__(self, conventions: tuple[str, ...] = ("markup", "plain")) -> None:
        unknown = set(conventions) - set(CONVENTIONS)
        if unknown:
            raise ValueError(f"unknown calculator convention(s) {sorted(unknown)}; known: {CONVENTIONS}")
        self.conventions = conventions

    def call(self, text: str) -> ToolCall | None:
        if not text.endswith("="):
            return None
        if "markup" in self.conventions:
            match = _MARKUP.search(text)
            if match:
                result = calculate(match.group(1))
                return ToolCall(self.name, match.group(1), result, f"{result}>>")
        if "plain" in self.conventions:
            expression = _plain_expression(text[:-1])
            if expression is not None:
                result = calculate(expression)
                return ToolCall(self.name, expression, result, f" {result}")
        return None


CONVENTIONS = ("markup", "plain")
_MARKUP = re.compile(rf"<<([^<>=\n]{{1,{MAX_LENGTH}}})=$")
_PLAIN_TAIL = re.compile(rf"[\d\s.,+\-*/%()×÷^]{{1,{MAX_LENGTH}}}$")


def _plain_expression(text: str) -> str | None:
    """The longest end of `text` that is an arithmetic expression with at least one binary operator."""
    tail = _PLAIN_TAIL.search(text)
    if tail is None:
        return None
    candidate = tail.group(0)
    for start in range(len(candidate)):
        if candidate[start].isspace() or (start and candidate[start - 1].isdigit()):
            continue  # an expression starts at a word boundary, not inside a number
        expression = candidate[start:].strip()
        try:
            tree = ast.parse(_normalized(expression), mode="eval").body
        except (SyntaxError, ValueError):
            continue
        if isinstance(tree, ast.BinOp):
            return expression
    return None
