"""Contacts (`com.infir.contacts`): ~20 seeded people. Ids below are `com.infir.contacts:id/<id>`.

Screen `.ContactsList` (title "Contacts"): a scrollable list `id/list` sorted by name (case-insensitive); 10 rows
fit, swipe up on the list to see the rest. Each row `id/contact_row` (clickable) shows an avatar, the name
(`id/contact_name`), the phone (`id/contact_phone`) and, for favorites, a star ImageView (`id/favorite_marker`,
desc "Favorite"). Extended FAB `id/add` (text and desc "Add contact").

Screen `.ContactDetails` (title: the name; "Navigate up" `id/up`): `id/details_name`, `id/details_phone`,
`id/details_email` (TextViews), CheckBox `id/favorite` "Favorite" (checked = favorite, drawn as a star), Buttons
`id/edit` "Edit" and `id/delete` "Delete". Delete opens a dialog: title "Delete contact?", Buttons
`android:id/button2` "Cancel" and `android:id/button1` "Delete".

Screen `.ContactEditor` (title "New contact" or "Edit contact"): EditTexts `id/name` (desc "Name", focused on
open), `id/phone` (desc "Phone"), `id/email` (desc "Email"), Button `id/save` "Save". Errors (`id/error`): "Name is
required", "Enter a valid phone number" (digits, spaces, + ( ) - only, 3 to 20 of them), "Enter a valid email".

Flows:
- add: tap `id/add` -> type the name (the field has the focus), tap `id/phone` and type, tap `id/email` and type
  -> tap `id/save` -> back on the list, the contact in it (favorite false).
- open: tap the `id/contact_name` whose text is the name (swipe up on `id/list` first if it is below the fold).
- favorite: open -> tap `id/favorite` (toggles `favorite`).
- edit: open -> tap `id/edit` -> fields pre-filled: clear and retype -> `id/save` -> back on the details.
- delete: open -> tap `id/delete` -> tap `android:id/button1` "Delete" -> back on the list.
State: `{"contacts": [{"id": int, "name": str, "phone": str, "email": str, "favorite": bool}]}`.
"""

from __future__ import annotations

import random
import re
from typing import Any

from android_agent.phone.apps.base import App, ConfirmDialog, Page, Screen, require, require_list
from android_agent.phone.apps.words import people
from android_agent.phone.ui import IMAGE_VIEW, View, button, check_box, fab, icon, list_item, text_view

FIELDS = {"id": int, "name": str, "phone": str, "email": str, "favorite": bool}
PHONE_PATTERN = re.compile(r"^\+?[0-9 ()\-]{3,20}$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
AVATAR_TINTS = ((26, 115, 232), (217, 48, 37), (24, 128, 56), (249, 171, 0), (161, 66, 244), (0, 137, 123))


def avatar_tint(name: str) -> tuple[int, int, int]:
    return AVATAR_TINTS[sum(map(ord, name)) % len(AVATAR_TINTS)]


class Contacts(App):
    package = "com.infir.contacts"
    label = "Contacts"
    tint = (26, 115, 232)

    def initial_state(self, rng: random.Random) -> dict[str, Any]:
        contacts = [{"id": index + 1, **person, "favorite": rng.random() < 0.2}
                    for index, person in enumerate(people(self.seed))]
        return {"contacts": contacts}

    def validate(self, state: Any) -> dict[str, Any]:
        contacts = require_list(state, "contacts", FIELDS)
        require(all(contact["name"].strip() for contact in contacts), "every contact needs a name")
        return {"contacts": contacts}

    def main_screen(self) -> Screen:
        return Screen(".ContactsList", self._list)

    def find(self, contact_id: int) -> dict[str, Any] | None:
        return next((contact for contact in self.state["contacts"] if contact["id"] == contact_id), None)

    # -- list --------------------------------------------------------------------------------------------------------
    def _list(self, screen: Screen) -> Page:
        rows = []
        for contact in sorted(self.state["contacts"], key=lambda contact: contact["name"].casefold()):
            star = View(IMAGE_VIEW, (0, 0, 80, 80), resource_id="favorite_marker", description="Favorite",
                        style="icon_button", icon="★") if contact["favorite"] else None
            rows.append(list_item(self.width, rid="contact_row", title=contact["name"], title_rid="contact_name",
                                  subtitle=contact["phone"], subtitle_rid="contact_phone",
                                  leading=icon(contact["name"], avatar_tint(contact["name"])), trailing=star,
                                  on_click=self._opener(contact["id"])))
        return Page(title="Contacts", rows=rows, empty="No contacts",
                    fab=fab("Add contact", "+", "add", lambda: self._edit(None)))

    def _opener(self, contact_id: int):
        return lambda: self.open(Screen(".ContactDetails", self._details, params={"id": contact_id}))

    # -- details -----------------------------------------------------------------------------------------------------
    def _details(self, screen: Screen) -> Page:
        contact = self.find(screen.params["id"])
        if contact is None:  # deleted while this screen was under another one
            return Page(title="Contact", body=[text_view("Contact not found", self.inner, rid="details_name")])

        def toggle_favorite() -> None:
            contact["favorite"] = not contact["favorite"]

        def ask_delete() -> None:
            screen.dialog = ConfirmDialog("Delete contact?", f"{contact['name']} will be removed from your contacts.",
                                          "Delete", lambda: self._delete(contact["id"]))

        body = [icon(contact["name"], avatar_tint(contact["name"]), size=200),
                text_view(contact["name"], self.inner, style="display", rid="details_name"),
                text_view(contact["phone"] or "No phone", self.inner, rid="details_phone"),
                text_view(contact["email"] or "No email", self.inner, rid="details_email"),
                check_box("Favorite", contact["favorite"], "favorite", toggle_favorite, self.inner, style="star"),
                button("Edit", "edit", lambda: self._edit(contact["id"]), width=self.inner),
                button("Delete", "delete", ask_delete, width=self.inner, style="outlined_button", tint=(217, 48, 37))]
        return Page(title=contact["name"], body=body)

    def _delete(self, contact_id: int) -> None:
        self.state["contacts"] = [contact for contact in self.state["contacts"] if contact["id"] != contact_id]
        self.back()

    # -- editor ------------------------------------------------------------------------------------------------------
    def _edit(self, contact_id: int | None) -> None:
        contact = self.find(contact_id) if contact_id is not None else None
        fields = {key: contact[key] for key in ("name", "phone", "email")} if contact else {}
        self.open(Screen(".ContactEditor", self._editor, params={"id": contact_id}, fields=fields, focus="name"))

    def _editor(self, screen: Screen) -> Page:
        title = "New contact" if screen.params["id"] is None else "Edit contact"
        return Page(title=title, body=[self.field(screen, "name", "Name"), self.field(screen, "phone", "Phone"),
                                       self.field(screen, "email", "Email"),
                                       button("Save", "save", lambda: self._save(screen), width=self.inner)])

    def _save(self, screen: Screen) -> None:
        name, phone, email = (screen.fields.get(key, "").strip() for key in ("name", "phone", "email"))
        if not name:
            return self.fail(screen, "Name is required")
        if phone and not PHONE_PATTERN.match(phone):
            return self.fail(screen, "Enter a valid phone number")
        if email and not EMAIL_PATTERN.match(email):
            return self.fail(screen, "Enter a valid email")
        contact_id = screen.params["id"]
        if contact_id is None:
            self.state["contacts"].append({"id": self.next_id(self.state["contacts"]), "name": name, "phone": phone,
                                           "email": email, "favorite": False})
        else:
            self.find(contact_id).update(name=name, phone=phone, email=email)
        self.back()
