"""Built-in word lists the apps draw their seeded contents from: realistic names, numbers, notes and products.

`people(seed)` is shared by Contacts and Messages, so a conversation's sender is a contact the agent can look up.
"""

from __future__ import annotations

import random

FIRST_NAMES = (
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Mateo", "Sophia", "Lucas", "Isabella", "Ethan", "Mia", "James",
    "Amelia", "Benjamin", "Harper", "Elijah", "Evelyn", "Daniel", "Priya", "Arjun", "Mei", "Hiroshi", "Fatima",
    "Omar", "Chloe", "Gabriel", "Zoe", "Samuel", "Nora", "Diego", "Leila", "Tomás", "Ingrid", "Kwame", "Aisha",
    "Rafael", "Hannah", "Victor", "Yuki", "Grace",
)
LAST_NAMES = (
    "Garcia", "Smith", "Johnson", "Nguyen", "Patel", "Kim", "Müller", "Rossi", "Okafor", "Silva", "Cohen",
    "Andersson", "Dubois", "Kowalski", "Tanaka", "Hernandez", "Brown", "Wilson", "Chen", "Martin", "Lopez",
    "Davies", "Novak", "Haddad", "Reyes", "Schmidt", "Ivanova", "Murphy", "Costa", "Walker",
)
EMAIL_DOMAINS = ("gmail.com", "outlook.com", "yahoo.com", "proton.me", "icloud.com", "fastmail.com")
AREA_CODES = ("415", "212", "312", "206", "617", "512", "303", "646", "408", "720")

STREETS = ("Maple Avenue", "Oak Street", "Harbor Road", "Cedar Lane", "Elm Street", "Sunset Boulevard",
           "Park Place", "Willow Drive", "Mission Street", "Lake Shore Drive")
CITIES = ("Springfield", "Riverside", "Fairview", "Madison", "Georgetown", "Ashland", "Clinton", "Salem")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
ROOMS = ("Oak", "Birch", "Aurora", "Summit", "Harbor", "the main conference room")
BANKS = ("Northwind Bank", "Contoso Pay", "Fabrikam ID", "Tailspin Airlines", "Woodgrove Bank")

NOTES = (
    ("Grocery list", "Milk, eggs, spinach, {n} lemons, coffee beans, oat yogurt, basil"),
    ("Book club", "Next meeting on {day} at 7 PM. Bring notes on chapters {n} to {m}."),
    ("Wi-Fi at the cabin", "Network: PineLodge-5G\nPassword: maple{n}{m}"),
    ("Gift ideas", "Mom: silk scarf\nDad: hiking boots, size {n}\nSam: board game"),
    ("Packing list", "Passport, charger, {n} pairs of socks, sunscreen, travel adapter"),
    ("Car service", "Oil change due at {n},000 miles. Garage on {street}, ask for Dana."),
    ("Recipe: lemon pasta", "{n} g spaghetti, 2 lemons, parmesan, butter, black pepper. Boil 9 minutes."),
    ("Workout plan", "Mon: run {n} km\nWed: strength\nFri: swim {m} laps"),
    ("Passport renewal", "Photos done. Form DS-82, fee ${n}0. Mail before {day}."),
    ("Movie night", "Shortlist: Arrival, Paddington 2, Spirited Away. Snacks: popcorn x{n}."),
    ("Plant care", "Water the fern every {n} days, the cactus every {m} weeks."),
    ("Meeting notes", "Budget review moved to {day}. Action: send the Q{n} report to finance."),
)

PRODUCTS = (
    ("Wireless Earbuds", "Bluetooth 5.3 earbuds with a charging case and 24 h battery.", 3999, 8999),
    ("USB-C Charger 30W", "Compact fast charger for phones and tablets.", 1599, 2999),
    ("Stainless Water Bottle", "Insulated, keeps drinks cold for 24 hours. 750 ml.", 1899, 3499),
    ("Yoga Mat", "Non-slip 6 mm mat with a carrying strap.", 2199, 4599),
    ("Ceramic Coffee Mug", "Hand-glazed 350 ml mug, dishwasher safe.", 899, 1799),
    ("Dotted Notebook", "A5 hardcover notebook, 160 pages of dotted paper.", 799, 1699),
    ("LED Desk Lamp", "Dimmable lamp with three colour temperatures.", 2499, 4999),
    ("Phone Case", "Shock-absorbing clear case with raised edges.", 999, 2499),
    ("Running Socks (3 pack)", "Breathable cushioned socks for long runs.", 1199, 1999),
    ("Bluetooth Speaker", "Waterproof speaker with 12 hours of play time.", 2999, 6999),
    ("Cotton T-Shirt", "Organic cotton crew-neck tee.", 1299, 2499),
    ("Backpack 20L", "Water-resistant daypack with a laptop sleeve.", 3499, 7999),
    ("Sunglasses", "Polarized lenses with UV400 protection.", 1499, 3999),
    ("Portable Power Bank", "10,000 mAh battery with USB-C in and out.", 1999, 3999),
    ("Kitchen Scale", "Digital scale, 1 g precision up to 5 kg.", 1299, 2499),
    ("Scented Candle", "Cedar and vanilla soy candle, 40 hours.", 1099, 2299),
)

ALARM_LABELS = ("Wake up", "Gym", "Take medicine", "School run", "Standup meeting", "Water the plants",
                "Pick up laundry", "Call grandma", "Yoga")


def phone_number(rng: random.Random) -> str:
    return f"{rng.choice(AREA_CODES)}-555-{rng.randrange(100, 10000):04d}"


def people(seed: int, count: int = 20) -> list[dict[str, str]]:
    """`count` distinct people (name, phone, email), the same for the same seed in every app."""
    rng = random.Random(f"{seed}:people")
    names: list[str] = []
    while len(names) < count:
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        if name.split()[0] not in {known.split()[0] for known in names}:  # first names alone identify a person
            names.append(name)
    result = []
    for name in names:
        first, last = name.split()
        user = f"{first}.{last}".lower().replace("ü", "u").replace("á", "a")
        result.append({"name": name, "phone": phone_number(rng), "email": f"{user}@{rng.choice(EMAIL_DOMAINS)}"})
    return result
