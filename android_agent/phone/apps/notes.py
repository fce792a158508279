"""Notes (`com.infir.notes`): seeded notes with titles and bodies. Ids below are `com.infir.notes:id/<id>`.

Screen `.NotesList` (title "Notes"): list `id/list`, newest (highest id) first; rows `id/note_row` with the title
(`id/note_title`) and the body's first line (`id/note_preview`); a long press on a row asks "Delete note?" (the
dialog below). Extended FAB `id/new_note` (text and desc "New note").

Screen `.NoteEditor` (title "New note" or "Edit note"; "Navigate up" `id/up` leaves without saving): EditTexts
`id/title_input` (desc "Title", focused on open) and `id/body_input` (desc "Note", several lines; ENTER inserts a
newline), Button `id/save` "Save"; for an existing note also Button `id/delete` "Delete", which asks in a dialog
("Delete note?", `android:id/button2` "Cancel", `android:id/button1` "Delete"). Error (`id/error`): "Title can't be
empty".

Flows:
- new note: tap `id/new_note` -> type the title -> tap `id/body_input`, type the body -> tap `id/save` -> list.
- edit: tap the `id/note_title` with the note's title -> change the fields -> tap `id/save` -> list.
- delete: tap the note -> tap `id/delete` -> tap `android:id/button1` -> list; or long-press the row -> tap
  `android:id/button1`.
State: `{"notes": [{"id": int, "title": str, "body": str}]}`.
"""

from __future__ import annotations

import random
from typing import Any

from android_agent.phone.apps.base import App, ConfirmDialog, Page, Screen, require, require_list
from android_agent.phone.apps.words import NOTES, STREETS, WEEKDAYS
from android_agent.phone.ui import button, fab, list_item

FIELDS = {"id": int, "title": str, "body": str}
BODY_LINES = 6


class Notes(App):
    package = "com.infir.notes"
    label = "Notes"
    tint = (230, 140, 0)

    def initial_state(self, rng: random.Random) -> dict[str, Any]:
        chosen = rng.sample(NOTES, 7)
        notes = []
        for index, (title, body) in enumerate(chosen):
            filled = body.format(n=rng.randint(2, 9), m=rng.randint(10, 19), day=rng.choice(WEEKDAYS),
                                 street=rng.choice(STREETS))
            notes.append({"id": index + 1, "title": title, "body": filled})
        return {"notes": notes}

    def validate(self, state: Any) -> dict[str, Any]:
        notes = require_list(state, "notes", FIELDS)
        require(all(note["title"].strip() for note in notes), "every note needs a title")
        return {"notes": notes}

    def main_screen(self) -> Screen:
        return Screen(".NotesList", self._list)

    def find(self, note_id: int) -> dict[str, Any] | None:
        return next((note for note in self.state["notes"] if note["id"] == note_id), None)

    def _list(self, screen: Screen) -> Page:
        rows = [list_item(self.width, rid="note_row", title=note["title"], title_rid="note_title",
                          subtitle=note["body"].split("\n")[0] or " ", subtitle_rid="note_preview",
                          on_click=self._opener(note["id"]), on_long_click=self._deleter(screen, note))
                for note in sorted(self.state["notes"], key=lambda note: -note["id"])]
        return Page(title="Notes", rows=rows, empty="No notes yet",
                    fab=fab("New note", "+", "new_note", self._opener(None)))

    def _opener(self, note_id: int | None):
        def open_editor() -> None:
            note = self.find(note_id) if note_id is not None else None
            fields = {"title_input": note["title"], "body_input": note["body"]} if note else {}
            self.open(Screen(".NoteEditor", self._editor, params={"id": note_id}, fields=fields,
                             focus="title_input"))

        return open_editor

    def _editor(self, screen: Screen) -> Page:
        note_id = screen.params["id"]

        def newline() -> None:
            screen.fields["body_input"] = screen.fields.get("body_input", "") + "\n"

        body = [self.field(screen, "title_input", "Title"),
                self.field(screen, "body_input", "Note", lines=BODY_LINES, on_enter=newline),
                button("Save", "save", lambda: self._save(screen), width=self.inner)]
        if note_id is not None:
            body.append(button("Delete", "delete", self._deleter(screen, self.find(note_id)), width=self.inner,
                               style="outlined_button", tint=(217, 48, 37)))
        return Page(title="New note" if note_id is None else "Edit note", body=body)

    def _deleter(self, screen: Screen, note: dict[str, Any]):
        """Asks "Delete note?" on `screen`; confirmed, the note goes and an editor screen closes."""

        def delete() -> None:
            self.state["notes"] = [kept for kept in self.state["notes"] if kept["id"] != note["id"]]
            if screen.activity == ".NoteEditor":
                self.back()

        def ask() -> None:
            screen.dialog = ConfirmDialog("Delete note?", f"\u201c{note['title']}\u201d will be deleted.", "Delete",
                                          delete)

        return ask

    def _save(self, screen: Screen) -> None:
        title = screen.fields.get("title_input", "").strip()
        body = screen.fields.get("body_input", "")
        if not title:
            return self.fail(screen, "Title can't be empty")
        note_id = screen.params["id"]
        if note_id is None:
            self.state["notes"].append({"id": self.next_id(self.state["notes"]), "title": title, "body": body})
        else:
            self.find(note_id).update(title=title, body=body)
        self.back()
