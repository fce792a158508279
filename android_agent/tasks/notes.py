"""Notes tasks: create, append to, delete (gated)."""

from __future__ import annotations

import random

from android_agent.tasks.base import States, Task, without
from android_agent.tasks.plan import CONFIRM, Done, Open, Tap, Type, control, row

NOTES = "com.infir.notes"
NEW_NOTES = [("Crème brûlée", "Buy vanilla pods and 6 eggs — dessert for 4"), ("Book club", "Next: Pachinko, ch. 1-9"),
             ("Garden", "Plant tomatoes after the last frost"), ("Ideas", "A café that only serves soup"),
             ("Wi-Fi guest", "Network: Birch House, password on the fridge"),
             ("Trip to Kraków", "Visit Wawel, try pierogi, buy amber")]
ITEMS = ["2 avocados", "dish soap", "crème fraîche", "AA batteries", "sourdough bread"]


def note_row(title: str) -> Tap:
    return Tap(row(NOTES, "note_row", title))


def new_note_steps(title: str, body: str) -> list:
    return [Open("Notes"), Tap(control(NOTES, "new_note")), Type(control(NOTES, "title_input"), title),
            Type(control(NOTES, "body_input"), body), Tap(control(NOTES, "save"))]


def added_notes(before: States, after: States) -> list[dict]:
    old = {n["id"] for n in before[NOTES]["notes"]}
    return [n for n in after[NOTES]["notes"] if n["id"] not in old]


class CreateNote(Task):
    name = "create_note"
    packages = (NOTES,)

    @classmethod
    def sample(cls, rng: random.Random, states: States) -> dict:
        title, body = rng.choice(NEW_NOTES)
        return {"title": title, "body": body}

    @property
    def instruction(self) -> str:
        return f'Create a note titled "{self.params["title"]}" that says "{self.params["body"]}".'

    def check(self, before: States, after: States, answer: str | None) -> bool:
        added = added_notes(before, after)
        return (len(added) == 1 and added[0]["title"] == self.params["title"]
                and added[0]["body"].strip() == self.params["body"]
                and len(after[NOTES]["notes"]) == len(before[NOTES]["notes"]) + 1)

    def plan(self, states: States) -> list:
        return [*new_note_steps(self.params["title"], self.params["body"]), Done()]


class AppendToNote(Task):
    name = "append_to_note"
    packages = (NOTES,)

    @classmethod
    def sample(cls, rng: random.Random, states: States) -> dict:
        note = next(n for n in states[NOTES]["notes"] if n["title"] == "Grocery list")
        return {"id": note["id"], "title": note["title"], "item": rng.choice(ITEMS)}

    @property
    def instruction(self) -> str:
        return f'Add "{self.params["item"]}" on a new line at the end of my {self.params["title"]} note.'

    def check(self, before: States, after: States, answer: str | None) -> bool:
        old = next(n for n in before[NOTES]["notes"] if n["id"] == self.params["id"])
        new = next((n for n in after[NOTES]["notes"] if n["id"] == self.params["id"]), None)
        return (new is not None and new["title"] == old["title"]
                and new["body"].rstrip() == old["body"].rstrip() + "\n" + self.params["item"]
                and without(before[NOTES]["notes"], "id", old["id"]) == without(after[NOTES]["notes"], "id",
                                                                                 old["id"]))

    def plan(self, states: States) -> list:
        return [Open("Notes"), note_row(self.params["title"]),
                Type(control(NOTES, "body_input"), "\n" + self.params["item"]), Tap(control(NOTES, "save")), Done()]


class DeleteNote(Task):
    name = "delete_note"
    packages = (NOTES,)
    authorizes = frozenset({"delete"})
    gated = True

    @classmethod
    def sample(cls, rng: random.Random, states: States) -> dict:
        note = rng.choice(states[NOTES]["notes"])
        return {"id": note["id"], "title": note["title"]}

    @property
    def instruction(self) -> str:
        return f'Delete the note "{self.params["title"]}".'

    def check(self, before: States, after: States, answer: str | None) -> bool:
        return after[NOTES]["notes"] == without(before[NOTES]["notes"], "id", self.params["id"])

    def plan(self, states: States) -> list:
        return [Open("Notes"), note_row(self.params["title"]), Tap(control(NOTES, "delete")), Tap(CONFIRM), Done()]


TASKS = [CreateNote, AppendToNote, DeleteNote]
