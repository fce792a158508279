"""A gate before destructive or sensitive actions: delete, send, pay, credentials, install, security settings.

The gate reads what an action would do from the action and its target element (label, description, resource
id), matching whole words so that "Sender" is not "send" and "Undelete" is not "delete". An approver (a person at
a terminal, a benchmark's simulated user, or `deny_all` for unattended runs) decides; every question and answer is
kept, so a trajectory shows what the agent was stopped from doing and why.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from android_agent.actions import Action
from android_agent.errors import AgentError
from android_agent.observation import PASSWORD_MASK, Element

CATEGORIES = ("pay", "credentials", "delete", "send", "install", "settings")  # the first that matches is reported
_VERB = {"pay": "pay", "credentials": "enter credentials", "delete": "delete", "send": "send",
         "install": "install", "settings": "change security settings"}
# a tap on a label this long is a tap on content (a note titled "Remove mold from the shower"), not on a command
MAX_COMMAND_WORDS = 6


def _words(pattern: str) -> re.Pattern:
    return re.compile(rf"\b(?:{pattern})\b", re.IGNORECASE)


_ACTION_WORDS = {  # what a tapped label says the tap does
    # not "Checkout": it opens the order's summary; the money moves on "Pay" / "Place order"
    "pay": _words(r"pay|buy(?: now)?|purchase|place (?:your )?order|confirm (?:payment|purchase)"),
    "delete": _words(r"delete|remove|erase|uninstall|reset|wipe|discard|move to (?:trash|bin)"
                     r"|clear (?:all|data|history|cache|storage|everything|chats?|conversations?|messages)"
                     r"|^clear$"),  # a bare "Clear" is a dialog's confirm button; "Clear search" only empties a field
    "send": _words(r"send|share|post|reply (?:by|with) message|call(?! (?:log|history|settings))|dial"),
    "install": _words(r"install|allow from this source|unknown (?:sources|apps)"),
}
_SECURITY_TOGGLES = _words(  # turning one of these off weakens the phone's protection
    r"screen lock|lock screen|play protect|scan apps|verify apps|find my (?:device|phone)|encrypt(?:ion)?"
    r"|fingerprint|face unlock|biometrics?|two[ -]factor|2[ -]step verification|firewall"
)
_RISKY_TOGGLES = _words(r"usb debugging|developer options|unknown sources|install unknown apps")  # risky when on
_CREDENTIAL_FIELD = _words(
    r"password|passcode|passphrase|pin|otp|one[ -]time (?:code|password)|verification code|security code"
    r"|auth(?:entication)? code|2fa|cvv|cvc|card number|credit card"
)
_TASK_WORDS = {  # what a task says when it asks for a category
    "pay": _words(r"pay|buy|purchase|check[ -]?out|order"),
    "credentials": _words(r"password|passcode|pin|otp|code|log ?in|sign ?in|card"),
    "delete": _words(r"delete|remove|erase|uninstall|reset|wipe|discard|clear|trash"),
    "send": _words(r"send|share|post|reply|call|dial|forward"),
    "install": _words(r"install"),
    "settings": _words(r"disable|turn off|switch off|enable|turn on|switch on"),
}
_EMAIL_OR_URL = re.compile(r"^[^@\s]+@[^@\s]+\.\w+$|^\w+://|^www\.", re.IGNORECASE)
_CARD = re.compile(r"^\d(?:[ -]?\d){12,18}$")


@dataclass(frozen=True)
class GateRequest:
    action: Action
    category: str  # one of CATEGORIES
    reason: str  # what the action would do, and whether the task asked for it
    target: str  # the target element in words, e.g. `Button "Delete"`
    task: str
    task_asks: bool = False  # whether the task's own words ask for this category


@dataclass(frozen=True)
class GateDecision:
    request: GateRequest
    approved: bool
    decided_by: str  # the approver's name: deny_all, ask_terminal, approve_if_asked(delete), ...


Approver = Callable[[GateRequest], bool]


def deny_all(request: GateRequest) -> bool:
    """The approver of unattended runs: nothing sensitive happens without a person (the refusal is recorded)."""
    return False


def ask_terminal(request: GateRequest, *, input: Callable[[str], str] = input, output=sys.stderr) -> bool:
    """Ask the person at the terminal; anything but y/yes (or no answer at all) is a no."""
    print(f"Safety gate [{request.category}]: {request.reason}.", file=output)
    print(f"Task: {request.task}", file=output)
    print("Allow this action? [y/N] ", end="", file=output, flush=True)
    try:
        answer = input("")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def approve_if_asked(categories: Iterable[str]) -> Approver:
    """A simulated user who approves exactly the categories the task explicitly asked for (benchmarks use it)."""
    allowed = frozenset(categories)
    unknown = sorted(allowed - set(CATEGORIES))
    if unknown:
        raise AgentError(f"unknown safety categories {unknown}; known: {', '.join(CATEGORIES)}")

    def approve(request: GateRequest) -> bool:
        return request.category in allowed

    approve.__name__ = f"approve_if_asked({','.join(sorted(allowed))})"
    return approve


def classify(action: Action, target: Element | None, task: str) -> GateRequest | None:
    """What sensitive thing `action` on `target` would do, or None when it is not sensitive."""
    if action.kind == "type":
        found = _classify_type(action, target)
    elif action.kind in ("click", "long_press") and target is not None:
        found = _classify_tap(target)
    else:  # keys, scrolls, swipes, waits, open_app, done: no target whose label says what they do
        return None
    if found is None:
        return None
    category, effect = found
    asks = bool(_TASK_WORDS[category].search(task))
    verb = {"click": "tapping", "long_press": "long-pressing", "type": "typing into"}[action.kind]
    described = _describe_target(target)
    asked = f"the task asks to {_VERB[category]}" if asks else f"the task did not ask to {_VERB[category]}"
    reason = f"{verb} {described} would {effect}; {asked}"
    return GateRequest(action=action, category=category, reason=reason, target=described, task=task, task_asks=asks)


class SafetyGate:
    """Asks its approver about each sensitive action and remembers every decision, in order."""

    def __init__(self, approver: Approver | None = None) -> None:
        self.approver: Approver = approver or deny_all
        self.decisions: list[GateDecision] = []

    def check(self, action: Action, target: Element | None, task: str) -> GateDecision | None:
        """None lets the action run; otherwise the decision (approved or not), also kept in `decisions`."""
        request = classify(action, target, task)
        if request is None:
            return None
        approved = bool(self.approver(request))
        decision = GateDecision(request, approved, getattr(self.approver, "__name__", type(self.approver).__name__))
        self.decisions.append(decision)
        return decision


def _resource_words(resource_id: str) -> str:
    """A resource id as words: "com.shop:id/btn_placeOrder" -> "btn place Order" (camelCase split in ids only:
    in a label, "PayPal" is a name, not "Pay")."""
    name = resource_id.rsplit("/", 1)[-1]
    return " ".join(re.sub(r"[_\-.]+", " ", re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name)).split())


def _label(target: Element) -> str:
    """The words an element's meaning is read from: its resource id, and its text and description if short."""
    parts = [_resource_words(target.resource_id)]
    parts += [" ".join(w.split()) for w in (target.text, target.description) if len(w.split()) <= MAX_COMMAND_WORDS]
    return "\n".join(p for p in parts if p)  # one line each, so `^clear$` matches a whole label only


def _is_row(target: Element) -> bool:
    """A layout (a list row, a card) whose text is its children's: content that a command label starts with."""
    return target.class_name.endswith(("Layout", "ViewGroup", "CardView", "RecyclerView", "ListView"))


def _classify_tap(target: Element) -> tuple[str, str] | None:
    if target.editable:  # tapping a field focuses it; its text is content, not a command
        return None
    label = _label(target)
    for category, words in _ACTION_WORDS.items():
        if _is_row(target):  # "Delete account" is a command row; "12:15 Call grandma" is an alarm
            match = _search_lines(words, _resource_words(target.resource_id)) or _match_start(words, label)
        else:
            match = _search_lines(words, label)
        if match:
            return category, f"{_VERB[category]} ({match!r})"
    if target.checkable and target.checked and (match := _search_lines(_SECURITY_TOGGLES, label)):
        return "settings", f"turn off {match!r}"
    if target.checkable and not target.checked and (match := _search_lines(_RISKY_TOGGLES, label)):
        return "settings", f"turn on {match!r}"
    return None


def _match_start(pattern: re.Pattern, label: str) -> str | None:
    for line in label.splitlines():
        match = pattern.match(line)
        if match:
            return match.group(0)
    return None


def _search_lines(pattern: re.Pattern, label: str) -> str | None:
    for line in label.splitlines():
        match = pattern.search(line)
        if match:
            return match.group(0)
    return None


def _classify_type(action: Action, target: Element | None) -> tuple[str, str] | None:
    text = action.text or ""
    if target is not None and target.password:
        return "credentials", "enter a password into a password field"
    field_label = _label(target) if target is not None else ""
    if match := _search_lines(_CREDENTIAL_FIELD, field_label):
        return "credentials", f"enter a secret into a {match!r} field"
    if _looks_like_card_number(text):
        return "credentials", "enter a card number"
    if _looks_like_password(text):
        return "credentials", "enter what looks like a password"
    return None


def _looks_like_card_number(text: str) -> bool:
    """13-19 digits (spaces or dashes between groups) passing the Luhn check, so phone numbers rarely match."""
    if not _CARD.match(text.strip()):
        return False
    digits = [int(d) for d in re.sub(r"\D", "", text)]
    checksum = sum(digits[-1::-2]) + sum(sum(divmod(2 * d, 10)) for d in digits[-2::-2])
    return checksum % 10 == 0


def _looks_like_password(text: str) -> bool:
    """One 8-64 character token of letters and digits with mixed case or a symbol, that is not an address.

    A bare 4-8 digit PIN or code is only flagged by the field it goes into: anywhere else such a number is far
    more often a quantity, a year or a postcode.
    """
    if not 8 <= len(text) <= 64 or any(c.isspace() for c in text):
        return False
    if _EMAIL_OR_URL.search(text):
        return False
    has_letter, has_digit = any(c.isalpha() for c in text), any(c.isdigit() for c in text)
    mixed_case = any(c.islower() for c in text) and any(c.isupper() for c in text)
    has_symbol = any(not c.isalnum() for c in text)
    return has_letter and has_digit and (mixed_case or has_symbol)


def _describe_target(target: Element | None) -> str:
    if target is None:
        return "the focused field"
    parts = [target.class_name or "View"]
    if target.text:
        parts.append(f'"{PASSWORD_MASK}"' if target.password else f'"{target.text[:60]}"')
    elif target.description:
        parts.append(f'"{target.description[:60]}"')
    if target.resource_id:
        parts.append(f"id={target.resource_id.rsplit('/', 1)[-1]}")
    if target.password:
        parts.append("(password field)")
    return " ".join(parts)
