"""Worked arithmetic in a solution's text: every 'a op b = ... = c' chain found and checked.

The programmatic solutions write one operation per step, 'a op b = c'; a teacher may write chains
('2 * 12 = 24 = 20 + 4') or an expression of several terms ('3 + 4 + 5 = 12'). Each expression of a chain must equal
its result, which a regex of 'a op b = c' alone cannot check: it would read '2 * 12 = 24 = 20 + 4' as two steps and
fail the second.

Tried and dropped (measured): splitting multi-digit operands in the programmatic solutions
('12 * 23 = 240 + 36 = 276', a scratchpad after Lee et al. 2023). After 40 SFT steps the 135M model wrote the split
but got the partial products wrong ('2 * 12 = 20 + 6 = 26'): one-to-two-step accuracy 0.16 on 100 items, against 0.32
for plain equations after 60 steps. The full form ('12 * 20 + 12 * 3 = ...') is longer than 160 tokens allow for
4-step problems.
"""

from __future__ import annotations

import re

# 'a op b = ... = c': expressions of numbers and + - * / joined by '=', every one of them worth c.
_NUM = r"-?\d+(?:\.\d+)?"  # "5 - 8 = -3": a sign only where no space follows it
_CHAIN = re.compile(rf"{_NUM} [-+*/] {_NUM}(?: [-+*/] {_NUM})* =(?: {_NUM}(?: [-+*/] {_NUM})* =)* {_NUM}")


def chains(text: str) -> list[str]:
    """The worked operations written in a text (a teacher's 'a op b = c' lines are chains of one link)."""
    return _CHAIN.findall(text)


def sides(chain: str) -> list[str]:
    """A chain's expressions, the first ('a op b') to the last (the result)."""
    return [side.strip() for side in chain.split("=")]


def value(expression: str) -> float:
    """An expression of numbers and + - * / with the usual precedence (no parentheses, no eval)."""
    tokens = expression.split()
    terms, signs = [float(tokens[0])], []
    for op, number in zip(tokens[1::2], tokens[2::2], strict=True):
        x = float(number)
        if op in "*/":
            terms[-1] = terms[-1] * x if op == "*" else (terms[-1] / x if x else float("nan"))
        else:
            terms.append(x)
            signs.append(op)
    total = terms[0]
    for op, term in zip(signs, terms[1:], strict=True):
        total = total + term if op == "+" else total - term
    return total


def chain_is_right(chain: str) -> bool:
    """Whether every expression of the chain equals its result."""
    *expressions, last = sides(chain)
    return all(abs(value(e) - float(last)) < 1e-6 for e in expressions)
