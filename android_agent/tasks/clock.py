"""Clock tasks: add, turn off and delete (gated) alarms."""

from __future__ import annotations

import random

from android_agent.tasks.base import States, Task, without
from android_agent.tasks.plan import Done, Open, Tap, Target, Type, control, row

CLOCK = "com.infir.clock"
LABELS = ["Gym", "Take medicine", "Dentist", "Pick up kids", "Yoga", "Flight check-in", "Café with Zoë"]


def hhmm(alarm: dict) -> str:
    return f"{alarm['hour']:02d}:{alarm['minute']:02d}"


def add_alarm_steps(hour: int, minute: int, label: str) -> list:
    return [Open("Clock"), Tap(control(CLOCK, "add_alarm")), Type(control(CLOCK, "hour"), str(hour)),
            Type(control(CLOCK, "minute"), f"{minute:02d}"), Type(control(CLOCK, "label"), label),
            Tap(control(CLOCK, "save"))]


def added_alarms(before: States, after: States) -> list[dict]:
    old = {a["id"] for a in before[CLOCK]["alarms"]}
    return [a for a in after[CLOCK]["alarms"] if a["id"] not in old]


class AddAlarm(Task):
    name = "add_alarm"
    packages = (CLOCK,)

    @classmethod
    def sample(cls, rng: random.Random, states: States) -> dict:
        return {"hour": rng.randint(5, 22), "minute": rng.choice([0, 5, 10, 20, 30, 40, 45, 50]),
                "label": rng.choice(LABELS)}

    @property
    def instruction(self) -> str:
        return f'Set an alarm for {hhmm(self.params)} labeled "{self.params["label"]}".'

    def check(self, before: States, after: States, answer: str | None) -> bool:
        added = added_alarms(before, after)
        p = self.params
        return (len(added) == 1 and (added[0]["hour"], added[0]["minute"]) == (p["hour"], p["minute"])
                and added[0]["label"] == p["label"] and added[0]["enabled"]
                and len(after[CLOCK]["alarms"]) == len(before[CLOCK]["alarms"]) + 1)

    def plan(self, states: States) -> list:
        return [*add_alarm_steps(self.params["hour"], self.params["minute"], self.params["label"]), Done()]


class DisableAlarm(Task):
    name = "turn_off_alarm"
    packages = (CLOCK,)

    @classmethod
    def sample(cls, rng: random.Random, states: States) -> dict:
        alarm = rng.choice([a for a in states[CLOCK]["alarms"] if a["enabled"]])
        return {"id": alarm["id"], "time": hhmm(alarm)}

    @property
    def instruction(self) -> str:
        return f"Turn off my {self.params['time']} alarm, but keep it for later."

    def check(self, before: States, after: States, answer: str | None) -> bool:
        alarm = next((a for a in after[CLOCK]["alarms"] if a["id"] == self.params["id"]), None)
        return (alarm is not None and not alarm["enabled"]
                and without(before[CLOCK]["alarms"], "id", alarm["id"]) == without(after[CLOCK]["alarms"], "id",
                                                                                    alarm["id"]))

    def plan(self, states: States) -> list:
        return [Open("Clock"), Tap(Target(resource_id=f"{CLOCK}:id/alarm_switch",
                                          description=f"Alarm {self.params['time']}")), Done()]


class DeleteAlarm(Task):
    name = "delete_alarm"
    packages = (CLOCK,)
    authorizes = frozenset({"delete"})
    gated = True

    @classmethod
    def sample(cls, rng: random.Random, states: States) -> dict:
        alarm = rng.choice(states[CLOCK]["alarms"])
        return {"id": alarm["id"], "label": alarm["label"], "time": hhmm(alarm)}

    @property
    def instruction(self) -> str:
        return f'Delete the alarm labeled "{self.params["label"]}".'

    def check(self, before: States, after: States, answer: str | None) -> bool:
        return after[CLOCK]["alarms"] == without(before[CLOCK]["alarms"], "id", self.params["id"])

    def plan(self, states: States) -> list:
        return [Open("Clock"), Tap(row(CLOCK, "alarm_row", f"{self.params['time']} {self.params['label']}")),
                Tap(control(CLOCK, "delete")), Done()]


TASKS = [AddAlarm, DisableAlarm, DeleteAlarm]
