"""Train families set at work and outdoors: a farm's eggs, fruit picking, a fuel tank, a bakery's loaves and a
parking lot. Each kind lists (train, test) phrasings; about a third are test-only."""

from __future__ import annotations

from .phrasing import family

EGGS = family(
    "farm_eggs", "train",
    items=(("egg", "eggs"), ("duck egg", "duck eggs")), containers=("cartons", "baskets", "trays"),
    periods=(("day", "days"), ("morning", "mornings")),
    text={
        "opening": (["{name}'s hens laid {start} this week.", "{name} has {start} in the farm kitchen.",
                     "There are {start} in {name}'s egg basket."],
                    ["By Sunday the coop on {name}'s farm had given {start}."]),
        "gain": (["{subj} collected {qty}", "the hens laid {qty}", "{subj} found {qty} in the barn"],
                 ["{name} gathered {qty} from the nesting boxes", "{name}'s ducks and hens produced {qty}"]),
        "lose": (["{subj} sold {qty} at the market", "{subj} used {qty} to make omelets",
                  "{qty} broke on the way to the house"],
                 ["a neighbor bought {qty} from {name}", "{name} boiled {qty} for a picnic"]),
        "question": (["How many {items} does {name} have left to sell?"],
                     ["Counting what is left, how many {items} are on {name}'s farm?"]),
        "detail": (["{name}'s farm sits at the end of a dirt road.", "The hens roam the yard during the day."],
                   ["A rooster crows on the roof of {name}'s barn."]),
        "distractor": (["The farm has {s} cows.", "{name}'s oldest hen is {s} years old."],
                       ["The barn was painted {s} years ago."]),
    },
)  # fmt: skip

FRUIT = family(
    "fruit_picking", "train",
    items=(("apple", "apples"), ("pear", "pears"), ("plum", "plums"), ("peach", "peaches"), ("orange", "oranges"),
           ("lemon", "lemons")),
    containers=("baskets", "crates", "bags", "buckets"),
    text={
        "opening": (["{name} picked {start} at the orchard.", "{name} has {start} from {poss} tree.",
                     "{name} has gathered {start} so far."], ["Under the trees in {name}'s orchard lie {start}."]),
        "gain": (["{subj} picked {qty}", "{subj} shook {qty} down from a branch",
                  "{poss} cousin added {qty} to the pile"],
                 ["{name} climbed a ladder and came down with {qty}", "{name} harvested {qty} from the top branches"]),
        "lose": (["{subj} ate {qty}", "{subj} threw away {qty} that were rotten",
                  "{subj} sold {qty} at a roadside stand"],
                 ["birds had pecked at {qty}, so {name} threw them out", "{name} baked {qty} into pies"]),
        "question": (["How many {items} are in {name}'s pile now?"], ["What is the final count of {name}'s {items}?"]),
        "detail": (["The orchard is on a sunny hillside.", "{name} wants to make jam with the fruit."],
                   ["A tractor rumbles past the orchard gate."]),
        "distractor": (["The orchard has {d} trees in each row.", "{name}'s ladder has {s} steps."],
                       ["The orchard was planted {d} years ago."]),
    },
)  # fmt: skip

FUEL = family(
    "fuel_tank", "train",
    items=(("liter", "liters"), ("gallon", "gallons")), containers=("cans", "jugs"),
    periods=(("day", "days"), ("hour", "hours")), kinds=("gain", "lose", "gain_groups", "lose_groups"),
    container_kinds=("gain_groups",), rate_kinds=("lose_groups",),
    owned=False, group_start=False, start_range=(10, 99), lost="used",
    text={
        "opening": (["{name}'s truck has {start} of fuel in the tank.",
                     "{name}'s car starts the trip with {start} of fuel.",
                     "The tank of {name}'s van holds {start} of fuel."],
                    ["At the start of the road trip, {name}'s camper carries {start} of fuel."]),
        "gain": (["{subj} filled up with {qty}", "{subj} poured in {qty} from the garage",
                  "{subj} stopped at a station and added {qty}"], ["a fuel stop put {qty} into {name}'s tank",
                                                                   "{name} topped up the tank with {qty}"]),
        "lose": (["{subj} used {qty} driving to the city", "the drive over the hills burned {qty}",
                  "{subj} used up {qty} on the highway"], ["the trip to the coast took {qty} from {name}'s tank",
                                                           "a long climb through the mountains consumed {qty}"]),
        "qty_lose": (["{k} {items}"], ["{k} {items} of fuel"]),
        "question": (["How many {items} of fuel are in the tank now?",
                      "How many {items} of fuel does {name} have left?"],
                     ["When the driving is done, what quantity of fuel remains, in {items}?"]),
        "detail": (["{name} is driving to visit {poss} aunt.", "The road winds through pine forests."],
                   ["{name} listens to an audiobook while driving."]),
        "distractor": (["The truck has {s} seats.", "The speed limit on the highway is {d} miles per hour."],
                       ["{name}'s car was bought {s} years ago."]),
    },
)  # fmt: skip

BAKERY = family(
    "bakery_loaves", "train",
    items=(("loaf", "loaves"), ("bagel", "bagels"), ("roll", "rolls"), ("baguette", "baguettes"),
           ("croissant", "croissants")),
    containers=("trays", "racks", "batches"), generic_clauses=False,
    kinds=("gain", "lose", "gain_groups", "lose_groups", "multiply"),
    text={
        "opening": (["{name}'s bakery opened with {start} on the shelves.",
                     "{name}, a baker, has {start} ready for the morning.",
                     "{name}'s bakery has {start} in the front window."],
                    ["Before sunrise, {name} lined up {start} behind the bakery counter."]),
        "gain": (["{subj} baked {qty}", "{subj} pulled {qty} from the oven", "{poss} assistant brought out {qty}",
                  "a supplier dropped off {qty} at {name}'s door"],
                 ["the second oven finished {qty} for {name}", "{name} shaped and baked {qty}"]),
        "lose": (["customers bought {qty}", "{subj} sold {qty} to a cafe", "{subj} delivered {qty} to a school",
                  "{subj} gave {qty} to a food bank"],
                 ["a catering order took {qty} off {name}'s shelves",
                  "a hotel order cleared {qty} from {name}'s racks"]),
        "multiply": (["{subj} kept baking until the shelves held {times} as many {items} as before",
                      "the stock of {items} in {name}'s bakery {timesed} before lunch"],
                     ["a holiday rush pushed {name}'s stock of {items} up to {times} its size"]),
        "question": (["How many {items} does {name}'s bakery have now?"],
                     ["What number of {items} sits on the bakery's shelves at closing?"]),
        "detail": (["The bakery is on a busy corner.", "{name} starts work before dawn."],
                   ["The smell of fresh bread drifts into the street."]),
        "distractor": (["The bakery has {s} tables for customers.", "{name}'s oven heats up in {d} minutes."],
                       ["The bakery's sign was painted {s} years ago."]),
    },
)  # fmt: skip

PARKING = family(
    "parking_lot", "train",
    items=(("car", "cars"), ("van", "vans"), ("motorbike", "motorbikes")), containers=("groups", "lines"),
    kinds=("gain", "lose", "gain_groups", "lose_groups", "multiply"), owned=False, group_start=False, lost="left",
    text={
        "opening": (["A parking lot that {name} looks after has {start} in it.",
                     "{name} counts {start} in the parking lot this morning.",
                     "There are {start} parked at the lot where {name} works."],
                    ["When {name} opens the garage gate, {start} are already inside."]),
        "gain": (["{qty} drove into the lot", "{qty} pulled in",
                  "{name} waved in {qty}"], ["{qty} rolled through the entrance", "{qty} squeezed into open spaces"]),
        "lose": (["{qty} drove away", "{qty} left the lot",
                  "{name} watched {qty} pull out"], ["{qty} exited through the gate",
                                                     "{qty} headed out onto the street"]),
        "multiply": (["by noon the number of {items} in the lot had {timesed}",
                      "a concert filled the lot until it held {times} as many {items} as before"],
                     ["the evening crowd brought the garage to {times} its earlier count of {items}"]),
        "question": (["How many {items} are in the lot now?", "How many {items} are parked there now?"],
                     ["What is the number of {items} left inside the garage at the end?"]),
        "detail": (["The lot is next to a football stadium.", "{name} sits in a small booth by the gate."],
                   ["Rain is falling on the rows of parked vehicles."]),
        "distractor": (["The lot has {s} lamp posts.", "Parking costs ${s} an hour."], ["The garage has {s} floors."]),
    },
)  # fmt: skip

FAMILIES = (EGGS, FRUIT, FUEL, BAKERY, PARKING)
