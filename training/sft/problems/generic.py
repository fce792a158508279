"""Phrasings shared by every family: connectives, quantity forms, multiply/share clauses, distractors and details.

Slots (filled by render.py): {name} the actor, {subj} the actor or a pronoun, {pron} {poss} {obj} {refl} her/his
forms, {items} {item} the thing counted, {stuff} what is held ("stickers" or "money"), {many} many/much, {qty} a
rendered quantity, {k} {n} {m} numbers, {unit} a container, {period}/{periods}/{a_period} a rate's time unit,
{times} {timesed} a factor in words, {other} another person, {d} a distractor number (5-60), {s} a small one (2-12),
{D} a distractor amount of the family's items ("7 stickers", "$7"), {day} a weekday.
About a third of each kind is test-only.
"""

from __future__ import annotations

from .phrasing import phrasings

GENERIC = {
    "connective": phrasings(
        "generic.connective",
        train=("Then ", "Later, ", "After that, ", "Next, ", "On {day}, ", "In the afternoon, ", "The next day, ",
               "That evening, "),
        test=("Afterwards, ", "Soon after, ", "A little while later, ", "Following that, "),
    ),
    # ---- quantity forms: what {qty} becomes in an event clause
    "qty_gain": phrasings(
        "generic.qty_gain",
        train=("{k} {items}", "{k} more {items}", "another {k} {items}"),
        test=("{k} extra {items}", "an additional {k} {items}"),
    ),
    "qty_lose": phrasings(
        "generic.qty_lose", train=("{k} {items}", "{k} of the {items}"), test=("{k} of those {items}",
                                                                               "exactly {k} {items}")
    ),
    "qty_groups": phrasings(
        "generic.qty_groups",
        train=("{n} {unit} of {m} {items}", "{n} {unit} with {m} {items} in each",
               "{n} {unit} holding {m} {items} each"),
        test=("{n} {unit} that each held {m} {items}", "{m} {items} in each of {n} {unit}"),
    ),
    "qty_rate": phrasings(
        "generic.qty_rate",
        train=("{m} {items} {a_period} for {n} {periods}", "{m} {items} every {period} for {n} {periods}",
               "{m} {items} each {period} for {n} {periods}"),
        test=("{m} {items} per {period} over {n} {periods}", "{m} {items} on each of {n} {periods}"),
    ),
    "money_gain": phrasings("generic.money_gain", train=("${k}", "${k} more", "another ${k}"), test=("an extra ${k}",)),
    "money_lose": phrasings("generic.money_lose", train=("${k}", "${k} of {poss} money"), test=("${k} of it",)),
    "money_rate": phrasings(
        "generic.money_rate",
        train=("${m} {a_period} for {n} {periods}", "${m} every {period} for {n} {periods}"),
        test=("${m} per {period} over {n} {periods}",),
    ),
    # ---- state events that read the same in most families (a family may bring its own instead)
    "multiply": phrasings(
        "generic.multiply",
        train=("{subj} ended up with {times} as {many} {stuff} as before", "{name}'s {stuff} {timesed}",
               "a lucky trade left {name} with {times} as {many} {stuff} as {pron} had",
               "by the end of the week {name} had {times} as {many} {stuff} as before"),
        test=("{name} found that {poss} {stuff} had grown to {times} the amount",
              "the amount of {stuff} {name} held grew to {times} its size"),
    ),
    "share": phrasings(
        "generic.share",
        train=("{subj} split {poss} {stuff} equally into {k} piles and kept one pile",
               "{subj} shared {poss} {stuff} equally among {k} people, {refl} included, and kept one share",
               "{subj} divided {poss} {stuff} into {k} equal groups and kept only one group",
               "{subj} kept one of {k} equal shares of {poss} {stuff} and gave the rest away"),
        test=("{subj} cut {poss} {stuff} into {k} equal portions, holding on to a single portion",
              "after sorting {poss} {stuff} into {k} same-sized heaps, {name} kept just one heap"),
    ),
    # ---- clauses and questions for families where a person simply holds things (Family.owned)
    "gain": phrasings(
        "generic.gain",
        train=("{subj} got {qty}", "{subj} received {qty}", "{subj} was given {qty}", "{subj} picked up {qty}",
               "{poss} friend gave {obj} {qty}", "{subj} won {qty} in a contest"),
        test=("{name} came home with {qty}", "{name} was handed {qty}", "{name} ended up receiving {qty} as a gift"),
    ),
    "lose": phrasings(
        "generic.lose",
        train=("{subj} gave away {qty}", "{subj} lost {qty}", "{subj} gave {qty} to a friend", "{subj} used up {qty}"),
        test=("{name} parted with {qty}", "{name} misplaced {qty}", "{name} donated {qty}"),
    ),
    "question": phrasings(
        "generic.question",
        train=("How many {items} does {name} have now?", "How many {items} does {name} end up with?",
               "How many {items} does {name} have at the end?"),
        test=("Once everything is done, what number of {items} remains with {name}?",
              "Count {name}'s {items} after all of that: what is the total?"),
    ),
    # ---- distractors: a true fact with a number that changes nothing (the note says it in the solution)
    "distractor": phrasings(
        "generic.distractor",
        train=("It takes {name} {d} minutes to walk to school.", "{name}'s house is {s} blocks from the park.",
               "{other} is {s} years older than {name}'s cousin.", "The temperature outside is {d} degrees.",
               "There are {d} houses on {name}'s street.", "{name}'s favorite number is {d}.",
               "{name} has {s} cousins who live in another town.", "{other}'s bike has {s} gears."),
        test=("The bus ride home lasts {d} minutes.", "{other} lives {s} floors above {name}.",
              "A song on the radio plays for {s} minutes.", "{name}'s school has {d} classrooms."),
    ),
    "distractor_items": phrasings(
        "generic.distractor_items",
        train=("{other} has {D}.", "{name}'s friend {other} owns {D}.", "{other} wants to own {D} one day."),
        test=("Next door, {other} keeps {D} in a box.", "Last year {other} owned {D}."),
    ),
    # ---- setting details with no number in them (Evol-Instruct's "concretize")
    "detail": phrasings(
        "generic.detail",
        train=("It is a sunny {day}.", "It is a rainy {day} morning.", "{name} is in a cheerful mood today.",
               "This happens during the summer holidays."),
        test=("It is a windy {day} afternoon.", "The whole thing happens on a quiet {day}."),
    ),
}  # fmt: skip

# The kinds a family may bring its own phrasings for, and which replace the generic ones rather than adding to them.
REPLACING = ("qty_gain", "qty_lose", "qty_groups", "qty_rate", "money_gain", "money_lose", "money_rate", "multiply",
             "share")  # fmt: skip
