"""Contacts tasks: add, delete (gated), favorite, edit, look up."""

from __future__ import annotations

import random
import re

from android_agent.tasks.base import States, Task, without
from android_agent.tasks.plan import CONFIRM, Done, Open, Tap, Type, control, row

CONTACTS = "com.infir.contacts"
NEW_NAMES = ["Mei Lin Zhao", "Søren Kierkegaard", "Priya Raman", "José Álvarez", "Tomasz Nowak", "Amara Okoye",
             "Liam O'Connor", "Yuki Sato", "Fatou Diop", "Mateo Rossi"]
EMAIL_DOMAINS = ["example.com", "mail.org", "proton.me"]


def digits(text: str | None) -> str:
    return re.sub(r"\D", "", text or "")


def contact_row(name: str) -> Tap:
    return Tap(row(CONTACTS, "contact_row", name))


def _others_unchanged(before: States, after: States, contact_id: int) -> bool:
    return without(before[CONTACTS]["contacts"], "id", contact_id) == without(after[CONTACTS]["contacts"], "id",
                                                                               contact_id)


def _by_name(states: States, name: str) -> dict | None:
    return next((c for c in states[CONTACTS]["contacts"] if c["name"] == name), None)


class AddContact(Task):
    name = "add_contact"
    packages = (CONTACTS,)

    @classmethod
    def sample(cls, rng: random.Random, states: States) -> dict:
        taken = {c["name"] for c in states[CONTACTS]["contacts"]}
        return {"contact": rng.choice([n for n in NEW_NAMES if n not in taken]),
                "phone": f"{rng.choice([206, 312, 415, 617])}-555-{rng.randint(1000, 9999)}"}

    @property
    def instruction(self) -> str:
        return f"Add a new contact named {self.params['contact']} with the phone number {self.params['phone']}."

    def check(self, before: States, after: States, answer: str | None) -> bool:
        added = [c for c in after[CONTACTS]["contacts"] if c not in before[CONTACTS]["contacts"]]
        return (len(added) == 1 and added[0]["name"] == self.params["contact"]
                and digits(added[0]["phone"]) == digits(self.params["phone"])
                and len(after[CONTACTS]["contacts"]) == len(before[CONTACTS]["contacts"]) + 1)

    def plan(self, states: States) -> list:
        return [Open("Contacts"), Tap(control(CONTACTS, "add")),
                Type(control(CONTACTS, "name"), self.params["contact"]),
                Type(control(CONTACTS, "phone"), self.params["phone"]), Tap(control(CONTACTS, "save")), Done()]


class DeleteContact(Task):
    name = "delete_contact"
    packages = (CONTACTS,)
    authorizes = frozenset({"delete"})
    gated = True

    @classmethod
    def sample(cls, rng: random.Random, states: States) -> dict:
        return {"contact": rng.choice(states[CONTACTS]["contacts"])["name"]}

    @property
    def instruction(self) -> str:
        return f"Delete the contact {self.params['contact']}."

    def check(self, before: States, after: States, answer: str | None) -> bool:
        gone = _by_name(before, self.params["contact"])
        return _by_name(after, self.params["contact"]) is None and _others_unchanged(before, after, gone["id"])

    def plan(self, states: States) -> list:
        return [Open("Contacts"), contact_row(self.params["contact"]), Tap(control(CONTACTS, "delete")),
                Tap(CONFIRM), Done()]


class FavoriteContact(Task):
    name = "favorite_contact"
    packages = (CONTACTS,)

    @classmethod
    def sample(cls, rng: random.Random, states: States) -> dict:
        return {"contact": rng.choice([c for c in states[CONTACTS]["contacts"] if not c["favorite"]])["name"]}

    @property
    def instruction(self) -> str:
        return f"Mark {self.params['contact']} as a favorite contact."

    def check(self, before: States, after: States, answer: str | None) -> bool:
        contact = _by_name(after, self.params["contact"])
        return contact is not None and contact["favorite"] and _others_unchanged(before, after, contact["id"])

    def plan(self, states: States) -> list:
        return [Open("Contacts"), contact_row(self.params["contact"]), Tap(control(CONTACTS, "favorite")), Done()]


class UpdateContactEmail(Task):
    name = "update_contact_email"
    packages = (CONTACTS,)

    @classmethod
    def sample(cls, rng: random.Random, states: States) -> dict:
        contact = rng.choice(states[CONTACTS]["contacts"])
        user = contact["name"].split()[0].lower().encode("ascii", "ignore").decode()
        return {"contact": contact["name"], "email": f"{user}.{rng.randint(10, 99)}@{rng.choice(EMAIL_DOMAINS)}"}

    @property
    def instruction(self) -> str:
        return f"Change the email address of {self.params['contact']} to {self.params['email']}."

    def check(self, before: States, after: States, answer: str | None) -> bool:
        old, new = _by_name(before, self.params["contact"]), _by_name(after, self.params["contact"])
        return (new is not None and new == {**old, "email": self.params["email"]}
                and _others_unchanged(before, after, old["id"]))

    def plan(self, states: States) -> list:
        return [Open("Contacts"), contact_row(self.params["contact"]), Tap(control(CONTACTS, "edit")),
                Type(control(CONTACTS, "email"), self.params["email"], clear=True), Tap(control(CONTACTS, "save")),
                Done()]


class ContactPhoneLookup(Task):
    name = "contact_phone_lookup"
    packages = (CONTACTS,)

    @classmethod
    def sample(cls, rng: random.Random, states: States) -> dict:
        return {"contact": rng.choice(states[CONTACTS]["contacts"])["name"]}

    @property
    def instruction(self) -> str:
        return f"What is {self.params['contact']}'s phone number? Answer with the number."

    def check(self, before: States, after: States, answer: str | None) -> bool:
        return digits(answer) == digits(_by_name(before, self.params["contact"])["phone"]) and after == before

    def plan(self, states: States) -> list:
        phone = _by_name(states, self.params["contact"])["phone"]
        return [Open("Contacts"), contact_row(self.params["contact"]), Done(phone)]


TASKS = [AddContact, DeleteContact, FavoriteContact, UpdateContactEmail, ContactPhoneLookup]
