"""Clock (`com.infir.clock`): alarms. Ids below are `com.infir.clock:id/<id>`.

Screen `.AlarmList` (title "Alarms"): list `id/list` sorted by time; rows `id/alarm_row` with the time "HH:MM"
(`id/alarm_time`, 24-hour, zero-padded), the label (`id/alarm_label`, "Alarm" when empty) and a Switch
`id/alarm_switch` whose content-desc is "Alarm HH:MM" (checked = enabled). Tapping the switch toggles `enabled`;
tapping elsewhere on the row opens the editor. Extended FAB `id/add_alarm` (text and desc "Add alarm").

Screen `.AlarmEditor` (title "New alarm" or "Edit alarm"): EditTexts `id/hour` (desc "Hour (0-23)", focused on
open), `id/minute` (desc "Minute (0-59)"), `id/label` (desc "Label"), Button `id/save` "Save"; for an existing
alarm also Button `id/delete` "Delete" (deletes at once, no dialog). Errors (`id/error`): "Hour must be a number from
0 to 23", "Minute must be a number from 0 to 59".

Flows:
- add 6:45 "Gym": tap `id/add_alarm` -> type "6" (hour has the focus) -> tap `id/minute`, type "45" -> tap
  `id/label`, type "Gym" -> tap `id/save` -> list; the new alarm is enabled.
- turn off the 07:30 alarm: tap the `id/alarm_switch` with desc "Alarm 07:30".
- change / delete: tap the row's `id/alarm_time` -> edit and `id/save` (keeps `enabled`), or tap `id/delete`.
State: `{"alarms": [{"id": int, "hour": int, "minute": int, "label": str, "enabled": bool}]}`.
"""

from __future__ import annotations

import random
from typing import Any

from android_agent.phone.apps.base import App, Page, Screen, require, require_list
from android_agent.phone.apps.words import ALARM_LABELS
from android_agent.phone.ui import button, fab, list_item, switch

FIELDS = {"id": int, "hour": int, "minute": int, "label": str, "enabled": bool}


def alarm_time(alarm: dict[str, Any]) -> str:
    return f"{alarm['hour']:02d}:{alarm['minute']:02d}"


class Clock(App):
    package = "com.infir.clock"
    label = "Clock"
    tint = (103, 58, 183)

    def initial_state(self, rng: random.Random) -> dict[str, Any]:
        labels = rng.sample(ALARM_LABELS, 4)
        hours = sorted(rng.sample(range(5, 22), 4))
        return {"alarms": [{"id": index + 1, "hour": hour, "minute": rng.choice((0, 15, 30, 45)), "label": label,
                            "enabled": index != 3}
                           for index, (hour, label) in enumerate(zip(hours, labels, strict=True))]}

    def validate(self, state: Any) -> dict[str, Any]:
        alarms = require_list(state, "alarms", FIELDS)
        for alarm in alarms:
            require(0 <= alarm["hour"] <= 23 and 0 <= alarm["minute"] <= 59, f"bad time in alarm {alarm['id']}")
        return {"alarms": alarms}

    def main_screen(self) -> Screen:
        return Screen(".AlarmList", self._list)

    def find(self, alarm_id: int) -> dict[str, Any] | None:
        return next((alarm for alarm in self.state["alarms"] if alarm["id"] == alarm_id), None)

    def _list(self, screen: Screen) -> Page:
        rows = []
        for alarm in sorted(self.state["alarms"], key=lambda alarm: (alarm["hour"], alarm["minute"], alarm["id"])):
            time_text = alarm_time(alarm)
            toggle = switch(alarm["enabled"], "alarm_switch", f"Alarm {time_text}", self._toggler(alarm))
            rows.append(list_item(self.width, rid="alarm_row", title=time_text, title_rid="alarm_time",
                                  subtitle=alarm["label"] or "Alarm", subtitle_rid="alarm_label", trailing=toggle,
                                  on_click=self._opener(alarm["id"])))
        return Page(title="Alarms", rows=rows, empty="No alarms",
                    fab=fab("Add alarm", "+", "add_alarm", self._opener(None)))

    def _toggler(self, alarm: dict[str, Any]):
        def toggle() -> None:
            alarm["enabled"] = not alarm["enabled"]

        return toggle

    def _opener(self, alarm_id: int | None):
        def open_editor() -> None:
            alarm = self.find(alarm_id) if alarm_id is not None else None
            fields = ({"hour": str(alarm["hour"]), "minute": f"{alarm['minute']:02d}", "label": alarm["label"]}
                      if alarm else {})
            self.open(Screen(".AlarmEditor", self._editor, params={"id": alarm_id}, fields=fields, focus="hour"))

        return open_editor

    def _editor(self, screen: Screen) -> Page:
        alarm_id = screen.params["id"]
        body = [self.field(screen, "hour", "Hour (0-23)"), self.field(screen, "minute", "Minute (0-59)"),
                self.field(screen, "label", "Label"),
                button("Save", "save", lambda: self._save(screen), width=self.inner)]
        if alarm_id is not None:
            body.append(button("Delete", "delete", lambda: self._delete(alarm_id), width=self.inner,
                               style="outlined_button", tint=(217, 48, 37)))
        return Page(title="New alarm" if alarm_id is None else "Edit alarm", body=body)

    def _delete(self, alarm_id: int) -> None:
        self.state["alarms"] = [alarm for alarm in self.state["alarms"] if alarm["id"] != alarm_id]
        self.back()

    def _save(self, screen: Screen) -> None:
        hour = _number(screen.fields.get("hour", ""), 23)
        minute = _number(screen.fields.get("minute", ""), 59)
        if hour is None:
            return self.fail(screen, "Hour must be a number from 0 to 23")
        if minute is None:
            return self.fail(screen, "Minute must be a number from 0 to 59")
        label = screen.fields.get("label", "").strip()
        alarm_id = screen.params["id"]
        if alarm_id is None:
            self.state["alarms"].append({"id": self.next_id(self.state["alarms"]), "hour": hour, "minute": minute,
                                         "label": label, "enabled": True})
        else:
            self.find(alarm_id).update(hour=hour, minute=minute, label=label)
        self.back()


def _number(text: str, largest: int) -> int | None:
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or not 0 <= int(text) <= largest:
        return None
    return int(text)
