"""Randomized screens of the simulated phone, and the elements on them a grounding prompt can name.

A screen is made the way a user gets there: a `Phone` is seeded with fresh app states drawn from the apps' own
generators (a random number of contacts, notes, alarms, products in the cart ...; dark theme sometimes), then an
app is started and navigated by tapping, typing, scrolling and opening dialogs through the phone's public input
methods. So every layout a screenshot shows is one the apps really produce, in random variants: lists scrolled,
editors half filled or showing a validation error (which pushes the form down), dialogs over a screen.

`targets` then lists the controls a prompt can name unambiguously: enabled, clickable, really hit by a tap at their
centre (not under a dialog's scrim or a FAB), not the screen-sized scrim itself, and whose label appears nowhere on
the screen outside their own bounds (a settings row and its switch both say "Wi-Fi": the row is the target).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from android_agent.observation import normalized_point, visible_center
from android_agent.phone.apps.clock import Clock
from android_agent.phone.apps.contacts import Contacts
from android_agent.phone.apps.launcher import Launcher
from android_agent.phone.apps.messages import Messages
from android_agent.phone.apps.notes import Notes
from android_agent.phone.apps.settings import TOGGLES, Settings
from android_agent.phone.apps.shop import Shop
from android_agent.phone.apps.words import CITIES, FIRST_NAMES, LAST_NAMES, NOTES, STREETS, people, phone_number
from android_agent.phone.phone import Phone
from android_agent.phone.ui import APP_BAR_H, ROW_H, STATUS_BAR_H, View

Bounds = tuple[int, int, int, int]
LAUNCHER, SETTINGS, CONTACTS = Launcher.package, Settings.package, Contacts.package
MESSAGES, CLOCK, NOTES_APP, SHOP = Messages.package, Clock.package, Notes.package, Shop.package
MAX_TARGET_AREA = 0.5  # of the screen: a dialog's scrim is clickable but "tap the scrim" grounds nothing


# -- app states --------------------------------------------------------------------------------------------------
def seed_states(phone: Phone, rng: random.Random, *, dark_theme_p: float) -> None:
    """Fresh random contents for every app, drawn from the apps' own generators, in varying amounts."""
    contacts = people(rng.randrange(1 << 30), count=rng.randint(3, 20))
    phone.set_app_state(CONTACTS, {"contacts": [{"id": i + 1, **person, "favorite": rng.random() < 0.2}
                                                for i, person in enumerate(contacts)]})
    notes = rng.sample(phone.app(NOTES_APP).initial_state(rng)["notes"], rng.randint(1, 7))
    phone.set_app_state(NOTES_APP, {"notes": [{**note, "id": i + 1} for i, note in enumerate(notes)]})
    threads = rng.sample(phone.app(MESSAGES).initial_state(rng)["threads"], rng.randint(1, 5))
    phone.set_app_state(MESSAGES, {"threads": threads})
    alarms: dict[tuple[int, int], dict] = {}
    for _ in range(rng.randint(1, 3)):  # the generator makes 4 alarms; merged draws give 4 to 12
        for alarm in phone.app(CLOCK).initial_state(rng)["alarms"]:
            alarms.setdefault((alarm["hour"], alarm["minute"]), alarm)
    phone.set_app_state(CLOCK, {"alarms": [{**alarm, "id": i + 1, "enabled": rng.random() < 0.7}
                                           for i, alarm in enumerate(alarms.values())]})
    shop = phone.app(SHOP).initial_state(rng)
    in_cart = rng.sample(shop["catalog"], rng.choice((0, 1, 1, 2, 2, 3, 4)))
    shop["cart"] = [{"product_id": product["id"], "quantity": rng.randint(1, 3)} for product in in_cart]
    phone.set_app_state(SHOP, shop)
    settings = phone.app(SETTINGS).initial_state(rng)
    settings |= {key: rng.random() < 0.5 for key, _ in TOGGLES}
    settings["dark_theme"] = rng.random() < dark_theme_p
    phone.set_app_state(SETTINGS, settings)


# -- input through the phone's public methods --------------------------------------------------------------------
def views(phone: Phone, rid: str) -> list[View]:
    """The views of the current screen with the short resource id `rid` (any package)."""
    return [view for view in phone.root().walk() if view.resource_id.rsplit("/", 1)[-1] == rid]


def tap(phone: Phone, rid: str, rng: random.Random | None = None, *, long: bool = False) -> None:
    """Taps the first view with id `rid` (a random one of them with `rng`)."""
    found = views(phone, rid)
    if not found:
        raise LookupError(f"no view {rid!r} on {phone.current_app()}")
    x, y = visible_center((rng.choice(found) if rng else found[0]).bounds, phone.size)
    (phone.long_press if long else phone.tap)(x, y)


def tap_row(phone: Phone, rid: str, title: str) -> None:
    """Taps the list row with id `rid` that shows `title`."""
    row = next(view for view in views(phone, rid) if any(child.text == title for child in view.walk()))
    phone.tap(*visible_center(row.bounds, phone.size))


def fill(phone: Phone, rid: str, text: str) -> None:
    phone.set_text(views(phone, rid)[0], text)


def scroll(phone: Phone, rng: random.Random, *, p: float, older: bool = False) -> None:
    """With probability `p`, scrolls the list by a random number of rows (a chat: towards older messages)."""
    lists = [view for view in views(phone, "list") if view.scrollable]
    if not lists or rng.random() >= p:
        return
    x1, y1, x2, y2 = lists[0].bounds
    rows = rng.randint(1, 10)
    start = y1 + 1 if older else y2 - 1
    phone.swipe((x1 + x2) // 2, start, (x1 + x2) // 2, start + (rows if older else -rows) * ROW_H)


def maybe(rng: random.Random, p: float) -> bool:
    return rng.random() < p


def full_name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


# -- the screens -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ScreenKind:
    """One layout: where `navigate` leaves a freshly seeded phone."""

    name: str
    package: str
    activity: str
    navigate: Callable[[Phone, random.Random], None]


def _settings_about(phone: Phone, rng: random.Random) -> None:
    phone.start_app(SETTINGS)
    tap_row(phone, "setting_row", "About phone")
    if maybe(rng, 0.5):
        fill(phone, "device_name", "" if maybe(rng, 0.4) else f"{rng.choice(FIRST_NAMES)}'s tablet")
        if maybe(rng, 0.5) and not views(phone, "device_name")[0].text:
            tap(phone, "save")  # an empty name: the error line pushes the form down


def _contacts_list(phone: Phone, rng: random.Random) -> None:
    phone.start_app(CONTACTS)
    scroll(phone, rng, p=0.6)


def _contact_details(phone: Phone, rng: random.Random) -> None:
    _contacts_list(phone, rng)
    tap(phone, "contact_row", rng)
    if maybe(rng, 0.3):
        tap(phone, "favorite")
    if maybe(rng, 0.3):
        tap(phone, "delete")  # the "Delete contact?" dialog


def _contact_editor(phone: Phone, rng: random.Random) -> None:
    _contacts_list(phone, rng)
    if maybe(rng, 0.5):
        tap(phone, "add")
        for rid, text in (("name", full_name(rng)), ("phone", phone_number(rng)), ("email", "someone@example.com")):
            if maybe(rng, 0.5):
                fill(phone, rid, text)
    else:
        tap(phone, "contact_row", rng)
        tap(phone, "edit")
    if maybe(rng, 0.3):
        fill(phone, "name", "")
        tap(phone, "save")  # "Name is required"


def _conversation(phone: Phone, rng: random.Random) -> None:
    phone.start_app(MESSAGES)
    tap(phone, "thread_row", rng)
    if maybe(rng, 0.5):
        fill(phone, "message_input", rng.choice(("On my way!", "Sounds good", "Can we talk later?", "Thanks")))
    scroll(phone, rng, p=0.4, older=True)


def _new_conversation(phone: Phone, rng: random.Random) -> None:
    phone.start_app(MESSAGES)
    tap(phone, "start_chat")
    if maybe(rng, 0.6):
        fill(phone, "recipient", full_name(rng) if maybe(rng, 0.5) else phone_number(rng))
    if maybe(rng, 0.5):
        fill(phone, "message_input", "See you at " + rng.choice(STREETS))
    if maybe(rng, 0.3) and not views(phone, "recipient")[0].text:
        tap(phone, "send")  # "Enter a name or number"


def _alarm_editor(phone: Phone, rng: random.Random) -> None:
    phone.start_app(CLOCK)
    scroll(phone, rng, p=0.5)
    tap(phone, "add_alarm") if maybe(rng, 0.5) else tap(phone, "alarm_time", rng)
    if maybe(rng, 0.5):
        fill(phone, "label", rng.choice(("Gym", "Meds", "Call mom", "Leave for work", "")))
    if maybe(rng, 0.3):
        fill(phone, "hour", str(rng.randint(24, 99)))
        tap(phone, "save")  # "Hour must be a number from 0 to 23"


def _notes_list(phone: Phone, rng: random.Random) -> None:
    phone.start_app(NOTES_APP)
    if maybe(rng, 0.25):
        tap(phone, "note_row", rng, long=True)  # "Delete note?"


def _note_editor(phone: Phone, rng: random.Random) -> None:
    phone.start_app(NOTES_APP)
    tap(phone, "new_note") if maybe(rng, 0.4) else tap(phone, "note_row", rng)
    if maybe(rng, 0.4):
        title, body = rng.choice(NOTES)
        fill(phone, "title_input", "" if maybe(rng, 0.4) else title)
        fill(phone, "body_input", body.format(n=3, m=12, day="Friday", street=rng.choice(STREETS)))
        if not views(phone, "title_input")[0].text:
            tap(phone, "save")  # "Title can't be empty"
    if views(phone, "delete") and maybe(rng, 0.25):
        tap(phone, "delete")


def _product(phone: Phone, rng: random.Random) -> None:
    phone.start_app(SHOP)
    scroll(phone, rng, p=0.4)
    tap(phone, "product_row", rng)
    for _ in range(rng.choice((0, 0, 1, 2, 4))):
        tap(phone, "increase")
    if maybe(rng, 0.4):
        tap(phone, "add_to_cart")  # "Added N to cart"


def _cart(phone: Phone, rng: random.Random) -> None:
    phone.start_app(SHOP)
    tap(phone, "cart")


def _checkout(phone: Phone, rng: random.Random, *, pay: bool = False) -> None:
    shop = phone.app_state(SHOP)
    if not shop["cart"]:
        shop["cart"] = [{"product_id": rng.choice(shop["catalog"])["id"], "quantity": rng.randint(1, 3)}]
        phone.set_app_state(SHOP, shop)
    _cart(phone, rng)
    tap(phone, "checkout")
    if pay or maybe(rng, 0.5):
        fill(phone, "address", f"{rng.randint(1, 999)} {rng.choice(STREETS)}, {rng.choice(CITIES)}")
    if pay or (maybe(rng, 0.4) and not views(phone, "address")[0].text):
        tap(phone, "pay")  # with an address: the order is placed; without: "Enter a delivery address"


def _start(package: str, p_scroll: float = 0.0) -> Callable[[Phone, random.Random], None]:
    def navigate(phone: Phone, rng: random.Random) -> None:
        phone.start_app(package)
        scroll(phone, rng, p=p_scroll)

    return navigate


SCREENS: tuple[ScreenKind, ...] = (
    ScreenKind("launcher.home", LAUNCHER, ".Home", lambda phone, rng: None),
    ScreenKind("settings.main", SETTINGS, ".Settings", _start(SETTINGS)),
    ScreenKind("settings.about", SETTINGS, ".AboutPhone", _settings_about),
    ScreenKind("contacts.list", CONTACTS, ".ContactsList", _contacts_list),
    ScreenKind("contacts.details", CONTACTS, ".ContactDetails", _contact_details),
    ScreenKind("contacts.editor", CONTACTS, ".ContactEditor", _contact_editor),
    ScreenKind("messages.list", MESSAGES, ".ConversationList", _start(MESSAGES)),
    ScreenKind("messages.conversation", MESSAGES, ".Conversation", _conversation),
    ScreenKind("messages.new", MESSAGES, ".NewConversation", _new_conversation),
    ScreenKind("clock.list", CLOCK, ".AlarmList", _start(CLOCK, 0.5)),
    ScreenKind("clock.editor", CLOCK, ".AlarmEditor", _alarm_editor),
    ScreenKind("notes.list", NOTES_APP, ".NotesList", _notes_list),
    ScreenKind("notes.editor", NOTES_APP, ".NoteEditor", _note_editor),
    ScreenKind("shop.catalog", SHOP, ".Catalog", _start(SHOP, 0.6)),
    ScreenKind("shop.product", SHOP, ".Product", _product),
    ScreenKind("shop.cart", SHOP, ".Cart", _cart),
    ScreenKind("shop.checkout", SHOP, ".Checkout", _checkout),
    ScreenKind("shop.confirmation", SHOP, ".OrderConfirmation", lambda phone, rng: _checkout(phone, rng, pay=True)),
)


def make_screen(kind: ScreenKind, rng: random.Random, *, size: tuple[int, int], dark_theme_p: float) -> Phone:
    """A phone seeded from `rng` and left on a random variant of `kind`'s screen."""
    phone = Phone(*size, seed=rng.randrange(1 << 30))
    seed_states(phone, rng, dark_theme_p=dark_theme_p)
    kind.navigate(phone, rng)
    if phone.current_app() != (kind.package, kind.activity):  # a recipe that lands elsewhere would mislabel splits
        raise RuntimeError(f"screen {kind.name} ended on {phone.current_app()}")
    return phone


# -- grounding targets -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    bounds: Bounds  # device pixels, end-exclusive
    label: str
    role: str  # "item" (a list row, an app icon: can be opened), "field", "control"

    @property
    def in_app_bar(self) -> bool:
        """"Navigate up" and the app bar's actions: on most screens, always at the same place."""
        return self.bounds[3] <= STATUS_BAR_H + APP_BAR_H


def targets(phone: Phone) -> list[Target]:
    """The controls on the current screen a prompt can name by a label that points at them alone."""
    root, (width, height) = phone.root(), phone.size
    shown: dict[str, list[Bounds]] = {}  # every text and description on the screen -> where it is drawn
    for view in root.walk():
        for text in {_key(view.text), _key(view.description)} - {""}:
            shown.setdefault(text, []).append(view.bounds)
    found = []
    for view in root.walk():
        if not view.clickable or not view.enabled or view.width <= 0 or view.height <= 0:
            continue
        if view.width * view.height > MAX_TARGET_AREA * width * height:
            continue
        if _hit(root, *visible_center(view.bounds, phone.size)) is not view:  # covered: a tap lands elsewhere
            continue
        label, role = _label(view)
        if label and all(_inside(bounds, view.bounds) for bounds in shown.get(_key(label), [])):
            found.append(Target(view.bounds, label, role))
    return found


def normalized_box(bounds: Bounds, size: tuple[int, int]) -> list[int]:
    """Pixel bounds (end-exclusive) -> [x0, y0, x1, y1] in 0..1000, inclusive of the last pixel row and column."""
    x0, y0 = normalized_point(bounds[:2], size)
    x1, y1 = normalized_point((bounds[2] - 1, bounds[3] - 1), size)
    return [x0, y0, x1, y1]


def target_point(bounds: Bounds, size: tuple[int, int]) -> tuple[int, int]:
    """The visible centre of `bounds` in 0..1000, as `describe_elements` shows element positions."""
    return normalized_point(visible_center(bounds, size), size)


def _label(view: View) -> tuple[str, str]:
    """What a person would call the control: a field by its label (its text is user content), a control by its
    text or accessibility name, a list row by its first line (the title, not "title subtitle")."""
    if view.editable:
        return (view.description or view.hint).strip(), "field"
    role = "item" if view.style in ("list_item", "launcher_icon") else "control"
    text = view.text.strip() or view.description.strip()
    if not text:
        text = next((child.text.strip() for child in _descendants(view) if child.text.strip()), "")
    return text, role


def _descendants(view: View) -> Iterator[View]:
    for child in view.children:
        yield from child.walk()


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()


def _inside(inner: Bounds, outer: Bounds) -> bool:
    return outer[0] <= inner[0] and outer[1] <= inner[1] and inner[2] <= outer[2] and inner[3] <= outer[3]


def _hit(view: View, x: int, y: int) -> View | None:
    """The view a tap at (x, y) reaches: the topmost, deepest clickable one, as `Phone.tap` dispatches it."""
    x1, y1, x2, y2 = view.bounds
    if not (x1 <= x < x2 and y1 <= y < y2):
        return None
    for child in reversed(view.children):
        found = _hit(child, x, y)
        if found is not None:
            return found
    return view if view.clickable else None
