"""A program rendered to its question text, and the ids of the phrasings that text used.

Rendering is a pure function of the program: every choice (phrasing ids, names, numbers, the connective before each
sentence, pronoun or name) is recorded in the program when it is drawn, so a stored problem re-renders exactly and an
evolved one changes only what the evolution changed.
"""

from __future__ import annotations

from dataclasses import dataclass

from .catalog import ALL_FAMILIES, PHRASINGS
from .phrasing import PRONOUNS, Family, a_period, cap, part, times, timesed
from .program import ABSORBED

SYMBOLS = {"gain": "+", "lose": "-", "multiply": "*", "share": "/"}
WORDS = {"gain": "plus", "lose": "minus", "multiply": "times", "share": "divided by"}


def person(actor: dict) -> dict:
    subj, poss, obj, refl = PRONOUNS[actor["pronoun"]]
    return {"name": actor["name"], "pron": subj, "poss": poss, "obj": obj, "refl": refl}


def item_slots(fam: Family, plural: str | None) -> dict:
    if fam.ledger == "money":
        return {"items": "dollars", "item": "dollar", "stuff": "money", "many": "much"}
    if plural is None:
        return {}
    singular = next(one for one, many in fam.items if many == plural)
    return {"items": plural, "item": singular, "stuff": plural, "many": "many"}


def amount(fam: Family, value: int, plural: str | None) -> str:
    """A count of the family's things: "24 stickers", "$24" (money), or a bare number."""
    if fam.ledger == "money":
        return f"${value}"
    return f"{value} {plural}" if plural else str(value)


def quantity(fam: Family, form: str, args: list[int], unit: str | None, items: dict) -> str:
    """A quantity form ("{n} {unit} of {m} {items}") filled in."""
    slots = dict(items)
    if len(args) == 2:
        slots.update(n=args[0], m=args[1])
    else:
        slots["k"] = args[0]
    phrasing = PHRASINGS[form]
    if phrasing.kind in ("qty_rate", "money_rate"):
        plural = next(many for one, many in fam.periods if one == unit)
        slots.update(period=unit, periods=plural, a_period=a_period(unit))
    else:
        slots["unit"] = unit
    return phrasing.text.format_map(slots)


@dataclass(frozen=True)
class Sentence:
    text: str
    role: str  # "start", "event", "detail" (no number), "distractor", "question"
    event: int = -1  # index of what it tells: into program["events"] (role "event") or "distractors"
    clause: str = ""  # the sentence without its connective ("Then ") and final stop: what a solution quotes


class _Text:
    """Sentences being assembled, and the phrasing ids used (in order, once each)."""

    def __init__(self) -> None:
        self.sentences: list[Sentence] = []
        self.ids: list[str] = []
        self.last = ""  # what the previous sentence was: "actor" (opening or event) or "aside"

    def use(self, phrasing_id: str | None) -> str:
        if phrasing_id is None:
            return ""
        if phrasing_id not in self.ids:
            self.ids.append(phrasing_id)
        return PHRASINGS[phrasing_id].text

    def add(self, text: str, role: str, event: int = -1, connective: str = "") -> None:
        text = cap((connective + text).strip())
        clause = cap(text[len(connective):].strip()).rstrip(".")
        self.sentences.append(Sentence(text if text[-1] in ".?!" else text + ".", role, event, clause))
        self.last = "actor" if role in ("start", "event") else "aside"


def _event_slots(fam: Family, program: dict, event: dict, index: int, base: dict, out: _Text) -> dict:
    slots = dict(base)
    kind, args = event["kind"], event["args"]
    items = item_slots(fam, event.get("item") or program["item"])
    slots.update(items)
    if event.get("qty"):
        out.use(event["qty"])
        slots["qty"] = quantity(fam, event["qty"], args, event.get("unit"), {**base, **items})
    if fam.ledger == "ages":
        slots.update(new=program["actors"][index + 1]["name"], prev=program["actors"][index]["name"])
    slots.update(k=args[0], times=times(args[0]), timesed=timesed(args[0]))
    if kind == "part_age":
        slots["part"] = part(args[0])
    # A pronoun only right after a sentence about the actor: after an aside about someone else it would be unclear.
    slots["subj"] = slots["pron"] if event.get("pronoun") and out.last == "actor" else slots["name"]
    slots["day"] = event.get("day", "")
    return slots


def _asides(program: dict, before: int, base: dict, fam: Family, out: _Text) -> None:
    for detail in program["details"]:
        if detail["before"] == before:
            out.add(out.use(detail["phrasing"]).format_map({**base, "day": detail.get("day", "")}), "detail")
    for index, fact in enumerate(program["distractors"]):
        if fact["before"] == before:
            value = fact["args"][0]
            slots = {**base, "other": fact["other"], "d": value, "s": value, "D": amount(fam, value, program["item"])}
            out.add(out.use(fact["phrasing"]).format_map(slots), "distractor", index)


def distractor_note(program: dict, fact: dict) -> str:
    """A distractor as a clause for the solution ("Ben has 7 stickers")."""
    fam = ALL_FAMILIES[program["family"]]
    phrasing = PHRASINGS[fact["phrasing"]]
    value = fact["args"][0]
    slots = {**person(program["actors"][0]), **item_slots(fam, program["item"]), "other": fact["other"], "d": value,
             "s": value, "D": amount(fam, value, program["item"])}  # fmt: skip
    return cap((phrasing.note or phrasing.text).format_map(slots).rstrip("."))


def render(program: dict) -> tuple[str, tuple[str, ...]]:
    """The question text and the ids of every phrasing it used."""
    if ALL_FAMILIES[program["family"]].ledger == "arithmetic":
        return render_arithmetic(program)
    out = _assemble(program)
    return " ".join(s.text for s in out.sentences), tuple(out.ids)


def sentences(program: dict) -> list[Sentence]:
    """The question's sentences, each with what it tells (a word problem's; a drill has none)."""
    return [] if ALL_FAMILIES[program["family"]].ledger == "arithmetic" else _assemble(program).sentences


def _assemble(program: dict) -> _Text:
    fam = ALL_FAMILIES[program["family"]]
    out = _Text()
    base = {**person(program["actors"][0]), **item_slots(fam, program["item"])}
    start = program["start"]
    if len(start["args"]) == 2:
        out.use(start["qty"])
        shown = quantity(fam, start["qty"], start["args"], start.get("unit"), base)
    else:
        shown = amount(fam, start["args"][0], program["item"])
    out.add(out.use(start["phrasing"]).format_map({**base, "start": shown}), "start")
    events = program["events"]
    told = events[:-1] if events and events[-1]["kind"] in ABSORBED else events
    for i, event in enumerate(told):
        _asides(program, i, base, fam, out)
        slots = _event_slots(fam, program, event, i, base, out)
        connective = out.use(event.get("connective")).format_map(slots)
        out.add(out.use(event["clause"]).format_map(slots), "event", i, connective)
    _asides(program, len(told), base, fam, out)
    asked = {**base, "name": program["actors"][-1]["name"]}
    if len(told) < len(events):
        asked["k"] = events[-1]["args"][0]
    out.add(out.use(program["question"]["phrasing"]).format_map(asked), "question")
    return out


def expression(program: dict) -> str:
    """A drill's expression, parenthesized so that reading it with the usual precedence computes left to right."""
    text, additive = str(program["start"]["args"][0]), False
    for event in program["events"]:
        op = SYMBOLS[event["kind"]]
        if op in "*/" and additive:
            text, additive = f"({text})", False
        text = f"{text} {op} {event['args'][0]}"
        additive = additive or op in "+-"
    return text


def render_arithmetic(program: dict) -> tuple[str, tuple[str, ...]]:
    phrasing = PHRASINGS[program["question"]["phrasing"]]
    slots = {"expr": expression(program)}
    if len(program["events"]) == 1:
        event = program["events"][0]
        slots["words"] = f"{program['start']['args'][0]} {WORDS[event['kind']]} {event['args'][0]}"
    return phrasing.text.format_map(slots), (phrasing.id,)
