"""Messages tasks: reply and send (gated), read a code, find a meeting time."""

from __future__ import annotations

import random

from android_agent.tasks.base import States, Task, same_text
from android_agent.tasks.plan import Done, Open, Tap, Type, control, row

MESSAGES = "com.infir.messages"
NOW = "2025-03-14T09:41"
REPLIES = ["On my way!", "Sounds good, see you at 7.", "Ça marche, à tout à l'heure !", "Can we do Friday instead?",
           "Thanks — got it 👍", "I'll bring the tickets."]
SENDERS = ["Woodgrove Bank", "Contoso Pay", "Fabrikam Health", "Northwind Mail"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]


def thread_row(name: str) -> Tap:
    return Tap(row(MESSAGES, "thread_row", name))


def thread_of(states: States, who: str) -> dict | None:
    return next((t for t in states[MESSAGES]["threads"] if who in (t["contact"], t["number"])), None)


def sent_since(before: States, after: States, who: str) -> list[str]:
    """Texts sent from the phone to `who` (a name or number) during the run."""
    old = {m["id"] for t in before[MESSAGES]["threads"] for m in t["messages"]}
    thread = thread_of(after, who)
    return [m["text"] for m in (thread["messages"] if thread else []) if m["from_me"] and m["id"] not in old]


def send_to(who: str, text: str, *, existing_thread: bool) -> list:
    """Steps that send `text` to `who` from the Messages app (an open conversation or a new chat)."""
    if existing_thread:
        steps = [thread_row(who)]
    else:
        steps = [Tap(control(MESSAGES, "start_chat")), Type(control(MESSAGES, "recipient"), who)]
    return [Open("Messages"), *steps, Type(control(MESSAGES, "message_input"), text), Tap(control(MESSAGES, "send"))]


def with_incoming(states: States, contact: str, number: str, text: str) -> States:
    """The Messages state with one more incoming message (a new thread, or appended to the contact's)."""
    state = states[MESSAGES]
    next_message = 1 + max((m["id"] for t in state["threads"] for m in t["messages"]), default=0)
    message = {"id": next_message, "from_me": False, "text": text, "time": NOW}
    thread = thread_of(states, number)
    if thread is not None:
        thread["messages"].append(message)
    else:
        state["threads"].append({"id": 1 + max((t["id"] for t in state["threads"]), default=0), "contact": contact,
                                 "number": number, "messages": [message]})
    return {MESSAGES: state}


class ReplyToThread(Task):
    name = "reply_to_message"
    packages = (MESSAGES,)
    authorizes = frozenset({"send"})
    gated = True

    @classmethod
    def sample(cls, rng: random.Random, states: States) -> dict:
        named = [t["contact"] for t in states[MESSAGES]["threads"] if t["contact"]]
        return {"contact": rng.choice(named), "text": rng.choice(REPLIES)}

    @property
    def instruction(self) -> str:
        return f'Reply "{self.params["text"]}" to {self.params["contact"]} in Messages.'

    def check(self, before: States, after: States, answer: str | None) -> bool:
        return sent_since(before, after, self.params["contact"]) == [self.params["text"]]

    def plan(self, states: States) -> list:
        return [*send_to(self.params["contact"], self.params["text"], existing_thread=True), Done()]


class SendToNumber(Task):
    name = "send_message_to_number"
    packages = (MESSAGES,)
    authorizes = frozenset({"send"})
    gated = True

    @classmethod
    def sample(cls, rng: random.Random, states: States) -> dict:
        return {"number": f"{rng.choice([425, 503, 702])}-555-{rng.randint(1000, 9999)}", "text": rng.choice(REPLIES)}

    @property
    def instruction(self) -> str:
        return f'Send the message "{self.params["text"]}" to the number {self.params["number"]}.'

    def check(self, before: States, after: States, answer: str | None) -> bool:
        return sent_since(before, after, self.params["number"]) == [self.params["text"]]

    def plan(self, states: States) -> list:
        return [*send_to(self.params["number"], self.params["text"], existing_thread=False), Done()]


class VerificationCode(Task):
    name = "read_verification_code"
    packages = (MESSAGES,)

    @classmethod
    def sample(cls, rng: random.Random, states: States) -> dict:
        return {"sender": rng.choice(SENDERS), "number": str(rng.randint(20000, 99999)),
                "code": f"{rng.randint(0, 999999):06d}"}

    def prepare(self, states: States) -> States:
        p = self.params
        text = f"{p['code']} is your {p['sender']} sign-in code. Never share it."
        return with_incoming(states, "", p["number"], text)

    @property
    def instruction(self) -> str:
        return f"What is the {self.params['sender']} sign-in code I just received by SMS? Answer with the code only."

    def check(self, before: States, after: States, answer: str | None) -> bool:
        return same_text(answer, self.params["code"]) and after == before

    def plan(self, states: States) -> list:
        return [Open("Messages"), thread_row(self.params["number"]), Done(self.params["code"])]


class MeetingTime(Task):
    name = "find_meeting_time"
    packages = (MESSAGES,)

    @classmethod
    def sample(cls, rng: random.Random, states: States) -> dict:
        thread = rng.choice([t for t in states[MESSAGES]["threads"] if t["contact"]])
        return {"contact": thread["contact"], "number": thread["number"], "day": rng.choice(DAYS),
                "time": f"{rng.randint(1, 11)}:{rng.choice(['00', '15', '30', '45'])} {rng.choice(['AM', 'PM'])}"}

    def prepare(self, states: States) -> States:
        p = self.params
        return with_incoming(states, p["contact"], p["number"], f"Coffee on {p['day']} at {p['time']}? My treat.")

    @property
    def instruction(self) -> str:
        return f"{self.params['contact']} texted me about coffee. On which day and at what time? Answer like " \
               "'Monday 9:30 AM'."

    def check(self, before: States, after: States, answer: str | None) -> bool:
        return same_text(answer, f"{self.params['day']} {self.params['time']}") and after == before

    def plan(self, states: States) -> list:
        return [Open("Messages"), thread_row(self.params["contact"]),
                Done(f"{self.params['day']} {self.params['time']}")]


TASKS = [ReplyToThread, SendToNumber, VerificationCode, MeetingTime]
