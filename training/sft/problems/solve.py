"""Programmatic step-by-step solutions: the teacher where the answer is computable.

One arithmetic operation per line, written 'a op b = c' with ASCII operators, after a few words saying what it
computes (the walk quotes the question's own clause); a line naming each distractor as irrelevant; and a last line
'The answer is N.', so the last number in the text is the answer (the way the model is judged). Several styles, so
the model learns the reasoning rather than one layout; all short (a 4-operation problem is ~60-150 tokens, inside the
160 new tokens a reply gets), since a 135M model trains on few tokens per second.
"""

from __future__ import annotations

import random

from .catalog import ALL_FAMILIES
from .phrasing import Family, cap, part, times
from .problem import WordProblem
from .program import ABSORBED, Step, steps
from .render import amount, distractor_note, item_slots, sentences

STYLES = ("plain", "numbered", "sequence", "compact", "so", "walk")
WALK_SHARE = 0.7  # drawn styles: mostly the walk (one consistent procedure), the other layouts for variety
_ASIDE = ("{}, which does not change the answer.", "{}, but that is not needed.", "{}; that fact is not used.",
          "({}: not needed.)", "{}, so that number is ignored.")  # fmt: skip


def _groups(fam: Family, program: dict, step: Step) -> str:
    """A product step in words: '3 packs of 8 stickers', '5 weeks of $12', '4 pens at $3 each'."""
    holder = program["events"][step.event] if step.event >= 0 else program["start"]
    plural = holder.get("item") or program["item"]
    if fam.ledger == "purchase":
        return f"{step.a} {plural} at ${step.b} each"
    periods = dict(fam.periods)
    if holder.get("unit") in periods:
        return f"{step.a} {periods[holder['unit']]} of {amount(fam, step.b, plural)}"
    return f"{step.a} {holder.get('unit')} of {amount(fam, step.b, plural)}"


def describe(program: dict, step: Step) -> str:
    """What one step computes, in a few words (starting lower-case unless it starts with a name or a number)."""
    fam = ALL_FAMILIES[program["family"]]
    ledger, kind, b = fam.ledger, step.kind, step.b
    if ledger == "arithmetic":
        return {"+": f"add {b}", "-": f"subtract {b}", "*": f"multiply by {b}", "/": f"divide by {b}"}[step.op]
    if ledger == "ages":
        actors = program["actors"]
        if kind in ("future", "past"):
            return f"{actors[-1]['name']} in {b} years" if kind == "future" else f"{actors[-1]['name']} {b} years ago"
        new = actors[step.event + 1]["name"]
        if kind in ("older", "younger"):
            return f"{new} is {b} years {kind}"
        return f"{new} is {times(b) if kind == 'times_age' else part(b)} as old"
    if step.part == "product":
        return _groups(fam, program, step)
    items = item_slots(fam, program["item"])
    if step.part == "total":
        gained = kind == "gain_groups"
        if ledger == "purchase":
            return "total cost"
        return f"{items['stuff']} {'in all' if gained else 'left'}"
    if kind == "pay":
        return f"change from ${step.a}"
    if kind == "multiply":
        return f"{times(b)} as {items['many']}"
    if kind == "share":
        return f"one of {b} equal shares"
    if ledger == "purchase":
        return f"${b} {'added' if kind == 'gain' else 'off'}"
    if kind == "gain":
        return f"${b} more" if ledger == "money" else f"{b} more {items['items']}"
    if fam.lost:
        return f"{amount(fam, b, program['item'])} {fam.lost}"
    return f"${b} less" if ledger == "money" else f"{b} fewer {items['items']}"


def _line(style: int, index: int, total: int, desc: str, equation: str) -> str:
    if style == 1:
        return f"Step {index + 1}, {desc}: {equation}."
    if style == 2:
        lead = "So" if total == 1 else "First" if index == 0 else "Finally" if index == total - 1 else "Then"
        return f"{lead}, {desc}: {equation}."
    if style == 3:
        return f"{equation} ({desc})"
    if style == 4:
        return f"{cap(desc)}, so {equation}."
    return f"{cap(desc)}: {equation}."


def _opening(program: dict) -> str | None:
    """Style 4 first says where the count starts (when the start is a plain number)."""
    fam = ALL_FAMILIES[program["family"]]
    args = program["start"]["args"]
    if len(args) == 2:
        return None
    if fam.ledger == "ages":
        return f"{program['actors'][0]['name']} is {args[0]}."
    return f"Start with {amount(fam, args[0], program['item'])}."


def _walk(problem: WordProblem) -> str | None:
    """The question's facts in the order it tells them: where the count starts, each event's operations, and each
    irrelevant fact set aside where it appears.

    The other styles name every irrelevant fact first, which asks the model to scan the whole question before its
    first step; the first SFT run's model did so badly (it set aside the starting quantity, or invented a step after
    the last event). Walking the text in order turns that into one local decision per sentence. Measured: the
    CPU recipe with the walk as 70% of solutions scored 0.342 on one-to-two-step (120 items) against 0.320 (150
    items) with the five older layouts only, no significant change; arithmetic slips dominate either way.

    Each event is quoted (the question's clause without its connective) before its first operation, so the model
    copies the sentence it is on and decides the operation right after reading its verb, instead of first naming
    the step ("47 more scones") from a sentence further back. With the calculator there are no arithmetic slips
    left, only such plans: after the same 30 SFT steps (q8_0 bundle, 60 test items per tier, calculator on),
    one-to-two-step 0.433 -> 0.567 and multi-step 0.017 -> 0.050 with the quotes.
    """
    program = problem.program
    told = sentences(program)
    if not told:
        return None  # a drill: no text to walk through
    by_event: dict[int, list[Step]] = {}
    for step in steps(program):
        by_event.setdefault(step.event, []).append(step)
    last = len(program["events"]) - 1
    lines = []

    def worked(event: int, quote: str = "") -> None:
        for i, step in enumerate(by_event[event]):
            lines.append(f"{quote if quote and i == 0 else cap(describe(program, step))}: {step.line}.")

    for sentence in told:
        if sentence.role == "start":
            if -1 in by_event:
                worked(-1, sentence.clause)
            else:
                lines.append(_opening(program))
        elif sentence.role == "event":
            worked(sentence.event, sentence.clause)
        elif sentence.role == "distractor":
            lines.append(f"{distractor_note(program, program['distractors'][sentence.event])}: not needed.")
        elif sentence.role == "question" and last >= 0 and program["events"][last]["kind"] in ABSORBED:
            worked(last)
    return "\n".join([*lines, f"The answer is {problem.answer}."])


def solve(problem: WordProblem, *, style: int | None = None, rng: random.Random | None = None) -> str:
    """A step-by-step solution of the problem in one of the STYLES (by index, or drawn from rng; default 0).

    A drawn style is the walk WALK_SHARE of the time; a drill (nothing to walk through) gets another style."""
    if style is None:
        if rng is None:
            style = 0
        else:
            style = STYLES.index("walk") if rng.random() < WALK_SHARE else rng.randrange(len(STYLES) - 1)
    if not 0 <= style < len(STYLES):
        raise ValueError(f"style must be in 0..{len(STYLES) - 1}, got {style}")
    if STYLES[style] == "walk":
        walked = _walk(problem)
        if walked is not None:
            return walked
        style = 0
    program = problem.program
    lines = [_ASIDE[style].format(distractor_note(program, fact)) for fact in program["distractors"]]
    if style == 4 and _opening(program):
        lines.append(_opening(program))
    taken = steps(program)
    lines += [_line(style, i, len(taken), describe(program, s), s.line) for i, s in enumerate(taken)]
    lines.append(f"The answer is {taken[-1].c}.")
    return "\n".join(lines)
