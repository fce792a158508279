"""Families with their own arithmetic: ages (each sentence relates a new person to the previous one, the question may
look years ahead or back) and purchases (quantity times price, a coupon or a fee, change from a payment)."""

from __future__ import annotations

from .phrasing import family

AGE_KINDS = ("older", "younger", "times_age", "part_age", "future", "past")
PURCHASE_KINDS = ("gain_groups", "gain", "lose", "pay")

# {new} is the person a sentence introduces, {prev} the one before; the question asks about the last person.
AGES = family(
    "ages", "train",
    ledger="ages", kinds=AGE_KINDS, owned=False, group_start=False, start_range=(3, 50), connectives=False,
    text={
        "opening": (["{name} is {start} years old.", "{name} turned {start} this year.", "{name}'s age is {start}."],
                    ["At the moment, {name} is {start}."]),
        "older": (["{new} is {k} years older than {prev}.", "{new} was born {k} years before {prev}.",
                   "{prev} is {k} years younger than {new}."], ["{new}'s age exceeds {prev}'s by {k} years."]),
        "younger": (["{new} is {k} years younger than {prev}.", "{new} was born {k} years after {prev}.",
                     "{prev} is {k} years older than {new}."], ["{new} trails {prev} in age by {k} years."]),
        "times_age": (["{new} is {times} as old as {prev}.", "{new}'s age is {times} {prev}'s age."],
                      ["{new} has lived {times} as many years as {prev}."]),
        "part_age": (["{new} is {part} as old as {prev}.", "{new}'s age is {part} of {prev}'s age."],
                     ["{new} has lived {part} as many years as {prev}."]),
        "question": (["How old is {name}?", "What is {name}'s age?", "How many years old is {name}?"],
                     ["Give {name}'s current age in years."]),
        "question_future": (["How old will {name} be in {k} years?", "What will {name}'s age be {k} years from now?"],
                            ["{k} years from today, how old is {name} going to be?"]),
        "question_past": (["How old was {name} {k} years ago?", "What was {name}'s age {k} years ago?"],
                          ["Going back {k} years, what age was {name}?"]),
        "detail": (["They all live on the same street.", "{name} is planning a birthday party."],
                   ["The whole family has gathered for a reunion."]),
        "distractor": (["{name}'s cat is {s} years old.", "The family car is {s} years old."],
                       ["{name}'s house was built {d} years ago."]),
    },
)  # fmt: skip

# {qty} in an opening or a gain_groups clause is "4 pens at $3 each"; pay is asked in the question (question_pay).
PURCHASE = family(
    "purchase_change", "train",
    ledger="purchase", kinds=PURCHASE_KINDS, owned=False, start_range=(0, 0),
    items=(("notebook", "notebooks"), ("pen", "pens"), ("mango", "mangoes"), ("sandwich", "sandwiches"),
           ("candle", "candles"), ("towel", "towels"), ("mug", "mugs"), ("toy car", "toy cars"), ("kite", "kites")),
    text={
        "qty_groups": (["{n} {items} at ${m} each", "{n} {items} that cost ${m} each", "{n} {items} for ${m} apiece"],
                       ["{n} {items} priced at ${m} per {item}"]),
        "opening": (["{name} buys {start}.", "At the store, {name} picks out {start}.", "{name} orders {start}."],
                    ["{name} heads to the checkout with {start}."]),
        "gain_groups": (["{subj} also buys {qty}", "{subj} adds {qty} to the basket", "{subj} grabs {qty} as well"],
                        ["{qty} go into the cart as well"]),
        "gain": (["there is a ${k} delivery fee", "{subj} adds a ${k} gift bag",
                  "{subj} pays ${k} extra for gift wrapping"],
                 ["a ${k} service charge is added to the bill"]),
        "lose": (["{subj} uses a coupon for ${k} off", "the cashier takes ${k} off for a sale",
                  "{subj} gets a ${k} discount"],
                 ["a voucher knocks ${k} off the total"]),
        "question": (["How much does {name} spend in all?", "How many dollars does {name} spend?",
                      "What is the total cost?"],
                     ["What does {name} owe at the register, in dollars?"]),
        "question_pay": (["{name} pays with ${k}. How much change does {pron} get?",
                          "If {name} hands the cashier ${k}, how much change should {pron} receive?",
                          "{name} pays with ${k}. How much money does {pron} get back?"],
                         ["Paying with ${k}, how many dollars come back to {name} as change?"]),
        "detail": (["The shop is busy this {day}.", "{name} is shopping for a school project."],
                   ["{name} is buying things for a camping trip."]),
        "distractor": (["The store has {s} checkout lanes.", "{name} waits in line for {d} minutes."],
                       ["The shop opened {s} years ago."]),
    },
)  # fmt: skip

SNACK_BAR = family(
    "snack_bar_change", "test",
    ledger="purchase", kinds=PURCHASE_KINDS, owned=False, start_range=(0, 0),
    items=(("hot dog", "hot dogs"), ("pretzel", "pretzels"), ("lemonade", "lemonades"), ("bag of popcorn",
                                                                                         "bags of popcorn"),
           ("ice cream cone", "ice cream cones")),
    text={
        "qty_groups": ["{n} {items} costing ${m} apiece", "{n} {items}, ${m} for each one"],
        "opening": ["At the stadium snack bar, {name} orders {start}.",
                    "During the game's break, {name} gets {start}."],
        "gain_groups": ["{subj} also asks for {qty}", "{qty} are added to the order"],
        "gain": ["the snack bar charges ${k} for a tray", "{subj} tips ${k}"],
        "lose": ["a members' card cuts ${k} from the price", "{subj} has a ${k} voucher from last week"],
        "question": ["How many dollars does the snack bar order come to?", "Work out what {name} pays, in dollars."],
        "question_pay": ["{name} hands over ${k}. What change comes back?",
                         "With ${k} given to the cashier, what change is {name} owed?"],
        "detail": ["The crowd is cheering loudly.", "{name} is sitting in the upper stands."],
        "distractor": ["The stadium has {d} rows of seats.", "The game started {d} minutes ago."],
    },
)  # fmt: skip

FAMILIES = (AGES, PURCHASE, SNACK_BAR)
