"""Train families set at home, school and in town: collections, baking, classroom supplies, library books, reading,
a garden and savings. Each kind lists (train, test) phrasings; about a third are test-only, so a test problem in a
familiar situation is still worded in a way training never showed."""

from __future__ import annotations

from .phrasing import family

STICKERS = family(
    "sticker_collection", "train",
    items=(("sticker", "stickers"), ("trading card", "trading cards"), ("marble", "marbles"), ("stamp", "stamps"),
           ("bottle cap", "bottle caps")),
    containers=("packs", "sheets", "bags", "boxes"),
    text={
        "opening": (["{name} has {start} in {poss} collection.", "{name}'s collection holds {start}.",
                     "{name} owns {start}."], ["A shoebox under {name}'s bed holds {start}."]),
        "gain": (["{subj} bought {qty} at the hobby shop", "{subj} got {qty} from {poss} best friend",
                  "{subj} won {qty} at the school fair"], ["a parcel from {name}'s uncle brought {qty}",
                                                           "{name} swapped a puzzle for {qty}"]),
        "lose": (["{subj} gave {qty} to {poss} little brother", "{subj} traded away {qty}",
                  "{subj} lost {qty} on the way home"], ["{name} handed {qty} over to a classmate",
                                                         "{qty} slipped out of {name}'s bag and were gone"]),
        "question": (["How many {items} are in {name}'s collection now?"],
                     ["What is the size of {name}'s collection at the end, counted in {items}?"]),
        "detail": (["{name} keeps the collection in a blue binder.", "{name} has been collecting since last spring."],
                   ["{name} likes to show the collection to visiting friends."]),
        "distractor": (["{name}'s binder has {d} empty pages.", "The hobby shop is open {s} hours on Sundays."],
                       ["The hobby shop sells {d} kinds of albums."]),
    },
)  # fmt: skip

BAKING = family(
    "home_baking", "train",
    items=(("cookie", "cookies"), ("muffin", "muffins"), ("cupcake", "cupcakes"), ("brownie", "brownies"),
           ("scone", "scones")),
    containers=("trays", "batches", "tins", "boxes"),
    text={
        "opening": (["{name} baked {start} for a bake sale.", "There are {start} cooling on {name}'s kitchen counter.",
                     "{name} has {start} ready for a party."], ["Fresh from the oven, {start} sit on {name}'s table."]),
        "gain": (["{subj} baked {qty}", "{subj} took {qty} out of the oven", "{poss} neighbor brought over {qty}"],
                 ["{name}'s oven turned out {qty}", "{name} finished frosting {qty}"]),
        "lose": (["{subj} ate {qty}", "{subj} sold {qty} at the bake sale", "{subj} packed {qty} into lunch boxes"],
                 ["{name}'s guests finished off {qty}", "{qty} were taken to a school picnic by {name}"]),
        "question": (["How many {items} does {name} have left?"],
                     ["When the baking is over, how many {items} does {name} still have?"]),
        "detail": (["The kitchen smells of vanilla.", "{name} is baking for {poss} sister's birthday."],
                   ["{name} wears a bright yellow apron while baking."]),
        "distractor": (["The recipe calls for {s} eggs.", "Each batch bakes for {d} minutes."],
                       ["{name}'s cookbook has {d} recipes in it."]),
    },
)  # fmt: skip

CLASSROOM = family(
    "classroom_supplies", "train",
    items=(("pencil", "pencils"), ("crayon", "crayons"), ("marker", "markers"), ("eraser", "erasers"),
           ("glue stick", "glue sticks")),
    containers=("boxes", "packs", "cases"), generic_clauses=False,
    text={
        "opening": (["{name}, a teacher, has {start} in the supply closet.",
                     "The art cupboard in {name}'s classroom holds {start}.",
                     "{name} keeps {start} on the classroom shelf."],
                    ["{name}'s supply drawer at school contains {start}."]),
        "gain": (["{subj} ordered {qty} for the class", "the school office sent {name} {qty}",
                  "{subj} brought {qty} from home", "{subj} found {qty} in a drawer"],
                 ["a parent donated {qty} to {name}'s class", "{name} unboxed {qty} from a new delivery"]),
        "lose": (["{subj} handed out {qty} to students", "{subj} lent {qty} to another teacher",
                  "{subj} threw away {qty} that were broken", "{subj} gave {qty} to the art club"],
                 ["the students used up {qty} during an art lesson", "{name} passed {qty} to pupils in another room"]),
        "question": (["How many {items} does {name} have for the class now?"],
                     ["What number of {items} is left in {name}'s classroom supplies?"]),
        "detail": (["{name} teaches a second-grade class.", "The class is getting ready for an art project."],
                   ["The classroom walls are covered in drawings."]),
        "distractor": (["{name}'s class has {d} students.", "The school day starts at {s} o'clock."],
                       ["The school library has {d} shelves."]),
    },
)  # fmt: skip

LIBRARY = family(
    "library_books", "train",
    items=(("book", "books"), ("magazine", "magazines"), ("comic", "comics"), ("picture book", "picture books"),
           ("cookbook", "cookbooks")),
    containers=("boxes", "carts", "crates"), generic_clauses=False,
    kinds=("gain", "lose", "gain_groups", "lose_groups", "multiply"),
    text={
        "opening": (["The library where {name} works has {start} on one shelf.",
                     "{name}, a librarian, is in charge of {start}.",
                     "{name}'s reading room holds {start}."],
                    ["On the display table that {name} looks after, there are {start}."]),
        "gain": (["{subj} unpacked {qty} that were donated", "readers returned {qty} to {name}",
                  "{subj} bought {qty} at a book fair", "{subj} carried in {qty} from the storeroom"],
                 ["a delivery van dropped off {qty} for {name}", "{name} shelved {qty} that had just arrived"]),
        "lose": (["readers checked out {qty}", "{subj} sent {qty} to another branch",
                  "{subj} removed {qty} that were damaged", "{subj} packed {qty} away for a sale"],
                 ["a visiting school group borrowed {qty}", "{qty} left the library with a book club"]),
        "question": (["How many {items} does {name} have on the shelf now?"],
                     ["After all this, how many {items} remain in {name}'s care?"]),
        "detail": (["The library is quiet this morning.", "{name} is preparing for a reading week."],
                   ["Sunlight comes in through the library's tall windows."]),
        "distractor": (["The library opens at {s} in the morning.", "The reading room has {d} chairs."],
                       ["{name}'s library card was issued {s} years ago."]),
    },
)  # fmt: skip

READING = family(
    "reading_pages", "train",
    items=(("page", "pages"),), periods=(("day", "days"), ("evening", "evenings")),
    kinds=("gain", "lose", "lose_groups"), owned=False, group_start=False, start_range=(60, 400), lost="read",
    text={
        "opening": (["{name} has {start} left to read in {poss} novel.",
                     "{name}'s book report needs {start} more of reading.",
                     "There are {start} left in the book {name} is reading."],
                    ["Before finishing the story, {name} must still get through {start}."]),
        "gain": (["{poss} teacher added {qty} to the reading list",
                  "{subj} decided to also read {qty} from a bonus chapter",
                  "{subj} found {qty} of notes at the back that also had to be read"],
                 ["{name}'s assignment grew by {qty}", "the teacher tacked on {qty}"]),
        "lose": (["{subj} read {qty}", "{subj} got through {qty} on the bus", "{subj} finished {qty} before bed"],
                 ["{name} worked through {qty}", "{name} made it through {qty}"]),
        "question": (["How many pages does {name} still have to read?", "How many pages are left for {name} to read?"],
                     ["What number of pages remains unread for {name}?"]),
        "detail": (["The book is an adventure story.", "{name} reads in a comfy chair by the window."],
                   ["The novel is about a lighthouse keeper."]),
        "distractor": (["The book has {s} chapters with pictures.", "{name} reads for {d} minutes before breakfast."],
                       ["The author has written {s} other books."]),
    },
)  # fmt: skip

GARDEN = family(
    "garden_seedlings", "train",
    items=(("seedling", "seedlings"), ("tulip bulb", "tulip bulbs"), ("tomato plant", "tomato plants"),
           ("sunflower", "sunflowers")),
    containers=("trays", "rows", "crates"), kinds=("gain", "lose", "gain_groups", "lose_groups", "share"),
    text={
        "opening": (["{name} has {start} in the garden.", "{name} planted {start} this spring.",
                     "{name}'s backyard has {start}."],
                    ["Along the fence of {name}'s yard grow {start}."]),
        "gain": (["{subj} planted {qty}", "{subj} bought {qty} at the garden center",
                  "{poss} grandmother gave {obj} {qty}"],
                 ["{name} dug in {qty} near the shed", "{name} set out {qty} in fresh soil"]),
        "lose": (["rabbits ate {qty}", "{subj} gave {qty} to a neighbor", "a storm knocked down {qty}"],
                 ["{name} lost {qty} to a hot, dry week", "slugs destroyed {qty}"]),
        "question": (["How many {items} does {name} have in the garden now?"],
                     ["How many {items} are still growing in {name}'s yard?"]),
        "detail": (["{name} waters the garden every evening.", "The garden is behind a small wooden fence."],
                   ["Bees buzz around the flower beds in {name}'s yard."]),
        "distractor": (["The garden hose is {d} feet long.", "{name}'s watering can holds {s} liters."],
                       ["The garden center is {s} blocks from {name}'s home."]),
    },
)  # fmt: skip

SAVINGS = family(
    "savings", "train",
    ledger="money", items=(("dollar", "dollars"),), periods=(("week", "weeks"), ("month", "months"), ("day", "days")),
    kinds=("gain", "lose", "gain_groups", "multiply", "share"), group_start=False,
    text={
        "opening": (["{name} has saved {start} for a new bike.", "{name} has {start} in a piggy bank.",
                     "There is {start} in {name}'s savings jar."],
                    ["{name} starts the month with {start} tucked away in a drawer."]),
        "gain": (["{subj} earned {qty} by walking dogs", "{poss} grandmother gave {obj} {qty}",
                  "{subj} saved {qty} from {poss} allowance"], ["{name} tucked away {qty} after helping a neighbor",
                                                                "{name} made {qty} selling lemonade"]),
        "lose": (["{subj} spent {qty} on a video game", "{subj} paid {qty} for a birthday present",
                  "{subj} took out {qty} to buy lunch"], ["{qty} went toward a pair of new sneakers",
                                                          "{name} handed over {qty} for a concert ticket"]),
        "multiply": (["{poss} parents matched {poss} savings so that {pron} had {times} as much money",
                      "{name}'s savings {timesed} thanks to a family reward"],
                     ["a generous uncle grew {name}'s savings to {times} their size"]),
        "share": (["{subj} split {poss} money equally among {k} envelopes and kept one envelope for the trip"],
                  ["{name} divided the money into {k} equal parts and kept a single part for a gift"]),
        "question": (["How much money does {name} have now?", "How many dollars has {name} saved now?"],
                     ["What amount, in dollars, sits in {name}'s savings at the end?"]),
        "detail": (["{name} is saving up for a trip to the zoo.", "{name} keeps a list of everything {pron} buys."],
                   ["{name} dreams of buying a telescope."]),
        "distractor": (["The bike {name} wants is red with {s} gears.", "{name}'s piggy bank has {s} painted spots."],
                       ["The bank near {name}'s house opens at {s} in the morning."]),
    },
)  # fmt: skip

FAMILIES = (STICKERS, BAKING, CLASSROOM, LIBRARY, READING, GARDEN, SAVINGS)
