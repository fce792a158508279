"""Messages (`com.infir.messages`): SMS conversations. Ids below are `com.infir.messages:id/<id>`.

Screen `.ConversationList` (title "Messages"): list `id/list`, the conversation with the newest message first; rows
`id/thread_row` with the contact's name or, for unknown senders, the number (`id/thread_name`) and the last
message (`id/thread_snippet`, "You: ..." when sent by the owner). Extended FAB `id/start_chat` (text and desc
"Start chat").

Screen `.Conversation` (title: the name or number): the messages as bubbles `id/message_text` (oldest at the top,
newest just above the composer; swipe down on `id/list` for older ones), received ones left, sent ones right; at
the bottom EditText `id/message_input` (desc "Message") and ImageButton `id/send` (desc "Send", disabled while the
message is empty). ENTER in `id/message_input` sends too.

Screen `.NewConversation` (title "New conversation"): EditTexts `id/recipient` (desc "To": a contact's full name,
any case, or a phone number; focused on open) and `id/message_input` (desc "Message"), Button `id/send` "Send".
Errors (`id/error`): "No contact named <name>", "<name> has no phone number", "Type a message". Sending to a
number or contact that already has a conversation appends to it; then the conversation screen replaces this one.

Seeded: conversations with four contacts from Contacts (one gives a party address, one moves a meeting to a day,
time and room) and one from a short-code sender (a 6-digit verification code).

Flows:
- read: tap the `id/thread_name` with the contact's name -> read the `id/message_text` views.
- reply: open it -> tap `id/message_input`, type -> tap `id/send`.
- new: tap `id/start_chat` -> type the name or number (To has the focus) -> tap `id/message_input`, type -> tap
  `id/send`.
State: `{"threads": [{"id": int, "contact": str ("" if unknown), "number": str, "messages": [{"id": int,
"from_me": bool, "text": str, "time": "YYYY-MM-DDTHH:MM"}]}]}`; a message sent now has time "2025-03-14T09:41".
"""

from __future__ import annotations

import random
import re
from datetime import datetime, timedelta
from typing import Any

from android_agent.phone.apps.base import NOW, App, Page, Screen, require, require_list
from android_agent.phone.apps.contacts import PHONE_PATTERN
from android_agent.phone.apps.words import BANKS, CITIES, ROOMS, STREETS, WEEKDAYS, people
from android_agent.phone.render import line_height, measure, text_size, wrap
from android_agent.phone.ui import (
    LINEAR,
    PAD,
    TEXT_VIEW,
    TOUCH,
    View,
    button,
    fab,
    icon_button,
    list_item,
    row,
    translate,
)

THREAD_FIELDS = {"id": int, "contact": str, "number": str, "messages": list}
MESSAGE_FIELDS = {"id": int, "from_me": bool, "text": str, "time": str}
BUBBLE_PAD = 28
CONTACTS = "com.infir.contacts"
STAMP = "%Y-%m-%dT%H:%M"


def digits(number: str) -> str:
    return re.sub(r"\D", "", number)


def stamp(moment: datetime) -> str:
    return moment.strftime(STAMP)


def _is_stamp(text: str) -> bool:
    try:
        datetime.strptime(text, STAMP)
    except ValueError:
        return False
    return True


class Messages(App):
    package = "com.infir.messages"
    label = "Messages"
    tint = (0, 137, 123)

    def initial_state(self, rng: random.Random) -> dict[str, Any]:
        friend, colleague, reader, family = rng.sample(people(self.seed), 4)
        code = f"{rng.randrange(10**6):06d}"
        hour, minute = rng.randint(1, 5), rng.choice(("00", "15", "30", "45"))
        scripts = [
            (friend, 3, [(False, f"Party's at my new place: {rng.randint(10, 999)} {rng.choice(STREETS)}, "
                                 f"{rng.choice(CITIES)}. Come by at 8!"),
                         (True, "Great, see you there!"),
                         (False, f"It's apartment {rng.randint(2, 9)}B, buzz twice.")]),
            (reader, 2, [(False, "Did you finish the book?"), (True, f"Almost, {rng.randint(12, 60)} pages left"),
                         (False, "No spoilers then!")]),
            (colleague, 1, [(False, f"Team sync moved to {rng.choice(WEEKDAYS)} at {hour}:{minute} PM in room "
                                    f"{rng.choice(ROOMS)}."), (True, "Thanks, I'll be there.")]),
            (family, 1, [(True, "Need anything from the store?"),
                         (False, f"Milk and {rng.randint(2, 6)} avocados please")]),
            ({"name": "", "phone": f"{rng.randrange(20000, 99999)}"}, 0,
             [(False, f"Your {rng.choice(BANKS)} verification code is {code}. It expires in 10 minutes. "
                      "Don't share it with anyone.")]),
        ]
        threads, message_id = [], 0
        for thread_id, (person, days_ago, lines) in enumerate(scripts, start=1):
            moment = NOW - timedelta(days=days_ago, minutes=rng.randint(20, 600))
            messages = []
            for from_me, text in lines:
                message_id += 1
                moment += timedelta(minutes=rng.randint(1, 9))
                messages.append({"id": message_id, "from_me": from_me, "text": text, "time": stamp(moment)})
            threads.append({"id": thread_id, "contact": person["name"], "number": person["phone"],
                            "messages": messages})
        return {"threads": threads}

    def validate(self, state: Any) -> dict[str, Any]:
        threads = require_list(state, "threads", THREAD_FIELDS)
        for thread in threads:
            thread["messages"] = require_list(thread, "messages", MESSAGE_FIELDS)
            require(bool(thread["contact"].strip() or digits(thread["number"])), "a thread needs a contact or number")
            for message in thread["messages"]:
                require(_is_stamp(message["time"]), f"message time '{message['time']}' must be YYYY-MM-DDTHH:MM")
        return {"threads": threads}

    def main_screen(self) -> Screen:
        return Screen(".ConversationList", self._list)

    def find(self, thread_id: int) -> dict[str, Any] | None:
        return next((thread for thread in self.state["threads"] if thread["id"] == thread_id), None)

    # -- list --------------------------------------------------------------------------------------------------------
    def _list(self, screen: Screen) -> Page:
        def newest(thread: dict[str, Any]) -> tuple[str, int]:
            last = thread["messages"][-1] if thread["messages"] else {"time": "", "id": 0}
            return last["time"], last["id"]

        rows = []
        for thread in sorted(self.state["threads"], key=newest, reverse=True):
            last = thread["messages"][-1] if thread["messages"] else None
            snippet = "" if last is None else ("You: " if last["from_me"] else "") + last["text"]
            rows.append(list_item(self.width, rid="thread_row", title=thread["contact"] or thread["number"],
                                  title_rid="thread_name", subtitle=snippet or " ", subtitle_rid="thread_snippet",
                                  on_click=self._opener(thread["id"])))
        return Page(title="Messages", rows=rows, empty="No conversations",
                    fab=fab("Start chat", "+", "start_chat", self._compose))

    def _opener(self, thread_id: int):
        return lambda: self.open(Screen(".Conversation", self._conversation, params={"id": thread_id}))

    # -- conversation ------------------------------------------------------------------------------------------------
    def _conversation(self, screen: Screen) -> Page:
        thread = self.find(screen.params["id"])
        rows = [self._bubble(message) for message in thread["messages"]]

        def send() -> None:
            text = screen.fields.get("message_input", "")
            if text.strip():
                self._append(thread, text)
                screen.fields["message_input"] = ""
                screen.first = 0

        field = self.field(screen, "message_input", "Message", width=self.inner - TOUCH - 16, on_enter=send)
        send_button = icon_button("➤", "Send", "send", send, tint=self.tint)
        send_button.enabled = bool(screen.fields.get("message_input", "").strip())
        composer = row([field, send_button], self.width, field.height + 32, gap=16, pad=PAD)
        return Page(title=thread["contact"] or thread["number"], rows=rows, from_end=True, footer=[composer])

    def _bubble(self, message: dict[str, Any]) -> View:
        style = "bubble_out" if message["from_me"] else "bubble_in"
        limit = int(self.width * 0.75) - 2 * BUBBLE_PAD
        lines = wrap(message["text"], text_size(style), limit)
        width = max(measure(line, style) for line in lines) + 2 * BUBBLE_PAD + 2
        bubble = View(TEXT_VIEW, (0, 0, width, len(lines) * line_height(style) + 2 * BUBBLE_PAD),
                      text=message["text"], resource_id="message_text", style=style, lines=len(lines),
                      tint=self.tint if message["from_me"] else None)
        translate(bubble, self.width - PAD - width if message["from_me"] else PAD, 12)
        return View(LINEAR, (0, 0, self.width, bubble.height + 24), children=[bubble])

    def _append(self, thread: dict[str, Any], text: str) -> None:
        message_id = max((message["id"] for other in self.state["threads"] for message in other["messages"]),
                         default=0) + 1
        thread["messages"].append({"id": message_id, "from_me": True, "text": text, "time": stamp(NOW)})

    # -- new conversation --------------------------------------------------------------------------------------------
    def _compose(self) -> None:
        self.open(Screen(".NewConversation", self._new, focus="recipient"))

    def _new(self, screen: Screen) -> Page:
        return Page(title="New conversation", body=[
            self.field(screen, "recipient", "To"),
            self.field(screen, "message_input", "Message", lines=3),
            button("Send", "send", lambda: self._send_new(screen), width=self.inner)])

    def _send_new(self, screen: Screen) -> None:
        recipient = screen.fields.get("recipient", "").strip()
        text = screen.fields.get("message_input", "")
        contacts = self.host.app(CONTACTS).state["contacts"]
        named = next((contact for contact in contacts if contact["name"].casefold() == recipient.casefold()), None)
        if named is not None:
            if not digits(named["phone"]):
                return self.fail(screen, f"{named['name']} has no phone number")
            name, number = named["name"], named["phone"]
        elif PHONE_PATTERN.match(recipient) and len(digits(recipient)) >= 3:
            number = recipient
            known = next((contact for contact in contacts if digits(contact["phone"]) == digits(number)), None)
            name = known["name"] if known else ""
        else:
            return self.fail(screen, f"No contact named {recipient}" if recipient else "Enter a name or number")
        if not text.strip():
            return self.fail(screen, "Type a message")
        thread = next((thread for thread in self.state["threads"] if digits(thread["number"]) == digits(number)),
                      None)
        if thread is None:
            thread = {"id": self.next_id(self.state["threads"]), "contact": name, "number": number, "messages": []}
            self.state["threads"].append(thread)
        self._append(thread, text)
        self.replace_top(Screen(".Conversation", self._conversation, params={"id": thread["id"]}))
