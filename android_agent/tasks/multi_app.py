"""Tasks that need several apps: read in one, act in another."""

from __future__ import annotations

import random

from android_agent.tasks.base import States, Task
from android_agent.tasks.clock import CLOCK, add_alarm_steps, added_alarms
from android_agent.tasks.contacts import CONTACTS, contact_row, digits
from android_agent.tasks.messages import MESSAGES, send_to, sent_since, thread_row, with_incoming
from android_agent.tasks.notes import NOTES, added_notes, new_note_steps, note_row
from android_agent.tasks.plan import Done, Open
from android_agent.tasks.shop import ADDRESSES, SHOP, checkout_steps, product_steps

STREETS = ["14 Elm Road", "9 Harbour View", "310 Maple Avenue", "77 Rue Saint-Honoré", "5 Königstraße"]


class ShareContactNumber(Task):
    name = "share_contact_number"
    packages = (CONTACTS, MESSAGES)
    authorizes = frozenset({"send"})
    gated = True

    @classmethod
    def sample(cls, rng: random.Random, states: States) -> dict:
        recipient = rng.choice([t["contact"] for t in states[MESSAGES]["threads"] if t["contact"]])
        shared = rng.choice([c for c in states[CONTACTS]["contacts"] if c["name"] != recipient])
        return {"recipient": recipient, "contact": shared["name"], "phone": shared["phone"]}

    @property
    def instruction(self) -> str:
        return f"Text {self.params['recipient']} the phone number of {self.params['contact']}."

    def check(self, before: States, after: States, answer: str | None) -> bool:
        sent = sent_since(before, after, self.params["recipient"])
        return (len(sent) == 1 and digits(self.params["phone"]) in digits(sent[0])
                and after[CONTACTS] == before[CONTACTS])

    def plan(self, states: States) -> list:
        return [Open("Contacts"), contact_row(self.params["contact"]),
                *send_to(self.params["recipient"], self.params["phone"], existing_thread=True), Done()]


class NoteFromMessage(Task):
    name = "note_address_from_message"
    packages = (MESSAGES, NOTES)

    @classmethod
    def sample(cls, rng: random.Random, states: States) -> dict:
        thread = rng.choice([t for t in states[MESSAGES]["threads"] if t["contact"]])
        return {"contact": thread["contact"], "number": thread["number"], "address": rng.choice(STREETS)}

    def prepare(self, states: States) -> States:
        p = self.params
        return with_incoming(states, p["contact"], p["number"], f"New address for the dinner: {p['address']}. 7 pm!")

    @property
    def instruction(self) -> str:
        return (f"{self.params['contact']} sent me a dinner address by message. Save it in a new note titled "
                "\"Dinner\" whose text is just the address.")

    def check(self, before: States, after: States, answer: str | None) -> bool:
        added = added_notes(before, after)
        return (len(added) == 1 and added[0]["title"] == "Dinner"
                and added[0]["body"].strip().rstrip(".") == self.params["address"])

    def plan(self, states: States) -> list:
        return [Open("Messages"), thread_row(self.params["contact"]), *new_note_steps("Dinner", self.params["address"]),
                Done()]


class AlarmFromMessage(Task):
    name = "alarm_from_message"
    packages = (MESSAGES, CLOCK)

    @classmethod
    def sample(cls, rng: random.Random, states: States) -> dict:
        thread = rng.choice([t for t in states[MESSAGES]["threads"] if t["contact"]])
        return {"contact": thread["contact"], "number": thread["number"], "hour": rng.randint(5, 8),
                "minute": rng.choice([0, 15, 30, 45])}

    def prepare(self, states: States) -> States:
        p = self.params
        text = f"Can you drive me to the airport tomorrow? I need to leave at {p['hour']}:{p['minute']:02d} AM sharp."
        return with_incoming(states, p["contact"], p["number"], text)

    @property
    def instruction(self) -> str:
        return (f"Set an alarm labeled \"Airport\" for the time {self.params['contact']} needs to leave tomorrow "
                "(check my messages).")

    def check(self, before: States, after: States, answer: str | None) -> bool:
        added = added_alarms(before, after)
        wanted = (self.params["hour"], self.params["minute"])
        return (len(added) == 1 and (added[0]["hour"], added[0]["minute"]) == wanted
                and added[0]["label"] == "Airport" and added[0]["enabled"])

    def plan(self, states: States) -> list:
        return [Open("Messages"), thread_row(self.params["contact"]),
                *add_alarm_steps(self.params["hour"], self.params["minute"], "Airport"), Done()]


class BuyFromNote(Task):
    name = "buy_items_from_note"
    packages = (NOTES, SHOP)
    authorizes = frozenset({"pay"})
    gated = True

    @classmethod
    def sample(cls, rng: random.Random, states: States) -> dict:
        products = rng.sample(states[SHOP]["catalog"], 2)
        next_id = 1 + max((n["id"] for n in states[NOTES]["notes"]), default=0)
        return {"note_id": next_id, "products": [[p["id"], p["name"]] for p in products],
                "address": rng.choice(ADDRESSES)}

    def prepare(self, states: States) -> States:
        body = "\n".join(name for _, name in self.params["products"])
        notes = [*states[NOTES]["notes"], {"id": self.params["note_id"], "title": "To buy", "body": body}]
        return {NOTES: {"notes": notes}, SHOP: {**states[SHOP], "cart": []}}

    @property
    def instruction(self) -> str:
        return (f"Order everything on my \"To buy\" note from the Shop (one of each), delivered to "
                f"{self.params['address']}.")

    def check(self, before: States, after: States, answer: str | None) -> bool:
        orders = after[SHOP]["orders"][len(before[SHOP]["orders"]):]
        wanted = sorted((product_id, 1) for product_id, _ in self.params["products"])
        return (len(orders) == 1 and orders[0]["address"] == self.params["address"]
                and sorted((i["product_id"], i["quantity"]) for i in orders[0]["items"]) == wanted)

    def plan(self, states: States) -> list:
        steps = [Open("Notes"), note_row("To buy"), Open("Shop")]
        for _, name in self.params["products"]:
            steps += product_steps(name)
        return [*steps, *checkout_steps(self.params["address"]), Done()]


TASKS = [ShareContactNumber, NoteFromMessage, AlarmFromMessage, BuyFromNote]
