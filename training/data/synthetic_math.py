"""Synthetic math: templated problems whose answers are computed, rendered as worked solutions.

The kind of text a reasoning-oriented pretraining mix wants (InfiR §2.1 recalls it from the web; here it is
generated, so nothing is downloaded): multi-step word problems, chains of arithmetic, linear equations and fractions,
each solved step by step. `math_texts` is training text (the math source, the math recall classifier's positives);
`math_problems` is the same family as bare question/answer items, for evaluation sets. The two draw from separate
random streams, so no seed makes a training text reuse an evaluation item's draws.

Each sentence has several phrasings and each problem several names, objects and number ranges: besides variety, this
keeps the n-gram overlap between a training text and an evaluation item of the same template low, so
decontamination removes the planted contamination, not the whole math source.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from math import ceil, gcd

NAMES = (
    "Amara", "Ben", "Chloe", "Dmitri", "Elena", "Farid", "Grace", "Hiro", "Isla", "Jonas", "Keiko", "Liam", "Maya",
    "Nikhil", "Olivia", "Pablo", "Quinn", "Rosa", "Samir", "Tara", "Umar", "Vera", "Wei", "Ximena", "Yusuf", "Zoe",
)  # fmt: skip
GOODS = (
    ("notebook", "notebooks"), ("pen", "pens"), ("mango", "mangoes"), ("sandwich", "sandwiches"), ("ticket", "tickets"),
    ("candle", "candles"), ("plant pot", "plant pots"), ("bus pass", "bus passes"), ("towel", "towels"),
    ("jar of honey", "jars of honey"), ("paintbrush", "paintbrushes"), ("bag of rice", "bags of rice"),
)  # fmt: skip
VEHICLES = ("car", "train", "bus", "van", "motorbike", "ferry")
PRODUCTS = ("bottles", "bolts", "toy cars", "circuit boards", "loaves", "bricks", "mugs")
INGREDIENTS = ("flour", "sugar", "butter", "rice", "lentils", "oats")


@dataclass(frozen=True)
class Problem:
    kind: str  # "word", "chain", "algebra" or "fraction"
    question: str
    answer: str
    steps: tuple[str, ...]

    def as_dict(self) -> dict:
        return {"question": self.question, "answer": self.answer, "solution": "\n".join(self.steps), "kind": self.kind}


def number(value: Fraction | int) -> str:
    """An answer as text: an integer, or a decimal with at most two places."""
    value = Fraction(value)
    if value.denominator == 1:
        return str(value.numerator)
    return f"{float(value):.2f}".rstrip("0").rstrip(".")


def money(cents: int) -> str:
    return f"${cents // 100}.{cents % 100:02d}"


def _round_cents(value: Fraction) -> int:
    return int(value * 100 + Fraction(1, 2))  # half up, as shops do


def _say(rng: random.Random, exam: bool, exam_form: str, *text_forms: str) -> str:
    """A question in its register: evaluation items are phrased in terse exam style, training text in narrative
    styles that share no long word sequence with it (n-gram decontamination should find planted copies of an
    evaluation item, not every training text built from the same template)."""
    return exam_form if exam else rng.choice(text_forms)


# ---- word problems (several steps each) -------------------------------------------------------------------------


def _shopping(rng: random.Random, exam: bool) -> Problem:
    name = rng.choice(NAMES)
    (one_a, many_a), (one_b, many_b) = rng.sample(GOODS, 2)
    a, b = rng.randint(2, 9), rng.randint(2, 9)
    price_a, price_b = rng.randrange(45, 900, 5), rng.randrange(45, 900, 5)
    total = a * price_a + b * price_b
    bill = next(note for note in (2000, 5000, 10000, 20000) if note > total)
    opening = rng.choice((
        f"{name} buys {a} {many_a} at {money(price_a)} each and {b} {many_b} at {money(price_b)} each.",
        f"At the market, {name} picks up {a} {many_a} costing {money(price_a)} apiece, plus {b} {many_b} "
        f"for {money(price_b)} apiece.",
        f"A {one_a} costs {money(price_a)} and a {one_b} costs {money(price_b)}. {name} needs {a} {many_a} "
        f"and {b} {many_b}.",
    ))  # fmt: skip
    asks = (
        f"{name} pays with a {money(bill)} note. How much change should {name} get back?",
        f"If {name} hands the cashier {money(bill)}, how much change is due?",
        f"Paying with {money(bill)}, what change does {name} receive?",
    )
    question = _say(  # the exam form first
        rng, exam,
        f"Purchase: {a} {many_a} priced {money(price_a)} per unit and {b} {many_b} priced {money(price_b)} per unit; "
        f"the customer tenders {money(bill)}. What change is owed?",
        *(f"{opening} {ask}" for ask in asks),
    )
    steps = (
        f"The {many_a} cost {a} × {money(price_a)} = {money(a * price_a)}.",
        f"The {many_b} cost {b} × {money(price_b)} = {money(b * price_b)}.",
        f"Together that is {money(a * price_a)} + {money(b * price_b)} = {money(total)}.",
        f"The change is {money(bill)} − {money(total)} = {money(bill - total)}.",
    )
    return Problem("word", question, number(Fraction(bill - total, 100)), steps)


def _travel(rng: random.Random, exam: bool) -> Problem:
    name, vehicle = rng.choice(NAMES), rng.choice(VEHICLES)
    speed_1, speed_2 = rng.randrange(30, 121, 5), rng.randrange(30, 121, 5)
    hours_1, minutes_2 = rng.randint(2, 5), rng.choice((15, 30, 45, 90, 150))
    leg_1, leg_2 = speed_1 * hours_1, Fraction(speed_2 * minutes_2, 60)
    question = _say(  # the exam form first
        rng, exam,
        f"A {vehicle} journey has two legs: {hours_1} h at {speed_1} km/h, then {minutes_2} min at {speed_2} km/h. "
        f"Compute the journey's length in km.",
        f"{name} rides a {vehicle} at {speed_1} km/h for {hours_1} hours, then continues at {speed_2} km/h for another "
        f"{minutes_2} minutes. How many kilometres does the {vehicle} cover in total?",
        f"A {vehicle} travels for {hours_1} hours at an average of {speed_1} km/h and then {minutes_2} minutes at "
        f"{speed_2} km/h. What is the total distance travelled, in kilometres?",
        f"On a trip, {name}'s {vehicle} keeps {speed_1} km/h for the first {hours_1} hours and {speed_2} km/h for the "
        f"last {minutes_2} minutes. Find the length of the trip in km.",
    )  # fmt: skip
    steps = (
        f"First part: distance = speed × time = {speed_1} × {hours_1} = {leg_1} km.",
        f"{minutes_2} minutes is {number(Fraction(minutes_2, 60))} hours, so the second part is "
        f"{speed_2} × {number(Fraction(minutes_2, 60))} = {number(leg_2)} km.",
        f"Total distance: {leg_1} + {number(leg_2)} = {number(leg_1 + leg_2)} km.",
    )
    return Problem("word", question, number(leg_1 + leg_2), steps)


def _discount_and_tax(rng: random.Random, exam: bool) -> Problem:
    (item, _), name = rng.choice(GOODS), rng.choice(NAMES)
    price, discount, tax = rng.randrange(20, 400), rng.choice((10, 15, 20, 25, 30, 40)), rng.choice((5, 6, 8, 10, 12))
    reduced = Fraction(price * (100 - discount), 100)
    final = _round_cents(reduced * Fraction(100 + tax, 100))
    question = _say(  # the exam form first
        rng, exam,
        f"An item listed at ${price} is marked down {discount}% and taxed {tax}% on the marked-down price. "
        f"Compute the amount charged, rounded to cents.",
        f"A {item} is priced at ${price}. It is on sale for {discount}% off, and then a {tax}% sales tax is added to "
        f"the sale price. What is the final price, to the nearest cent?",
        f"{name} wants a {item} listed at ${price}. The shop takes {discount}% off, and {tax}% tax is charged on the "
        f"discounted amount. How much does {name} pay in dollars?",
    )  # fmt: skip
    steps = (
        f"The discount is {discount}% of ${price} = {money(price * discount)}.",
        f"The sale price is ${price} − {money(price * discount)} = {money(price * (100 - discount))}.",
        f"Adding {tax}% tax multiplies it by {number(Fraction(100 + tax, 100))}: "
        f"{number(reduced)} × {number(Fraction(100 + tax, 100))} ≈ {money(final)}.",
    )
    return Problem("word", question, number(Fraction(final, 100)), steps)


def _ages(rng: random.Random, exam: bool) -> Problem:
    older, younger = rng.sample(NAMES, 2)
    factor, young_age, years = rng.randint(2, 5), rng.randint(3, 15), rng.randint(2, 12)
    total = factor * young_age + young_age + 2 * years
    question = _say(  # the exam form first
        rng, exam,
        f"{older}'s age is {factor}-fold {younger}'s; {years} years hence the two ages sum to {total}. "
        f"Determine {older}'s current age.",
        f"{older} is {factor} times as old as {younger}. In {years} years, their ages will add up to {total}. "
        f"How old is {older} now?",
        f"Today {older}'s age is {factor} times {younger}'s age, and {years} years from now the sum of their ages "
        f"will be {total}. What is {older}'s present age?",
    )  # fmt: skip
    steps = (
        f"Let {younger}'s age now be x, so {older} is {factor}x.",
        f"In {years} years the ages are x + {years} and {factor}x + {years}, which add to {factor + 1}x + {2 * years}.",
        f"So {factor + 1}x + {2 * years} = {total}, giving {factor + 1}x = {total - 2 * years} and x = {young_age}.",
        f"{older} is {factor} × {young_age} = {factor * young_age} years old.",
    )
    return Problem("word", question, str(factor * young_age), steps)


def _survey(rng: random.Random, exam: bool) -> Problem:
    group, rest = rng.randrange(40, 1001, 20), rng.choice(("walk", "cycle", "take the bus"))
    share, part = rng.randrange(10, 60, 5), rng.choice((Fraction(1, 2), Fraction(1, 4), Fraction(3, 4), Fraction(2, 5)))
    first = group * share // 100
    second = (group - first) * part
    if second.denominator != 1:
        return _survey(rng, exam)  # redraw: people come in whole numbers
    who = rng.choice(("students at a school", "employees of a company", "members of a club", "residents of a street"))
    question = _say(  # the exam form first
        rng, exam,
        f"Of {group} {who}, {share}% drive; {part} of the non-drivers {rest}. Determine the count who {rest}.",
        f"There are {group} {who}. {share}% of them drive to get there, and {part} of the others {rest}. "
        f"How many {rest} there?",
        f"A survey of {group} {who} finds that {share}% drive. Of those who do not drive, {part} {rest}. "
        f"How many people {rest}?",
    )  # fmt: skip
    steps = (
        f"{share}% of {group} is {group} × {share} / 100 = {first} people who drive.",
        f"That leaves {group} − {first} = {group - first} people.",
        f"{part} of {group - first} is {number(second)}.",
    )
    return Problem("word", question, number(second), steps)


def _fence(rng: random.Random, exam: bool) -> Problem:
    length, width, cost = rng.randint(6, 60), rng.randint(4, 40), rng.randrange(250, 2000, 25)
    gate = rng.choice((1, 2, 3))
    fenced = 2 * (length + width) - gate
    place = rng.choice(("garden", "paddock", "playground", "vegetable plot", "yard"))
    question = _say(  # the exam form first
        rng, exam,
        f"Rectangle of {length} m by {width} m: its boundary minus a {gate} m opening is fenced at {money(cost)} per "
        f"metre. Compute the fencing bill in dollars.",
        f"A rectangular {place} is {length} m long and {width} m wide. Fencing goes all the way around except for a "
        f"{gate} m gate, and costs {money(cost)} per metre. What does the fencing cost in dollars?",
        f"To fence a {length} m by {width} m rectangular {place}, leaving a gap of {gate} m for a gate, a builder "
        f"charges {money(cost)} for each metre of fence. Find the total cost in dollars.",
    )  # fmt: skip
    steps = (
        f"The perimeter is 2 × ({length} + {width}) = {2 * (length + width)} m.",
        f"Without the gate, {2 * (length + width)} − {gate} = {fenced} m of fence is needed.",
        f"The cost is {fenced} × {money(cost)} = {money(fenced * cost)}.",
    )
    return Problem("word", question, number(Fraction(fenced * cost, 100)), steps)


def _average(rng: random.Random, exam: bool) -> Problem:
    name, tests = rng.choice(NAMES), rng.randint(3, 6)
    target = rng.randint(60, 92)
    scores = [rng.randint(50, 100) for _ in range(tests - 1)]
    needed = target * tests - sum(scores)
    if not 0 <= needed <= 100:
        return _average(rng, exam)  # redraw: the last score must be possible
    listed = ", ".join(map(str, scores[:-1])) + f" and {scores[-1]}"
    question = _say(  # the exam form first
        rng, exam,
        f"Marks so far: {listed}. Required mean over {tests} assessments: {target}. Determine the mark needed on "
        f"the final assessment.",
        f"{name} scored {listed} on the first {tests - 1} tests. What score on test number {tests} would make "
        f"the average of all {tests} tests exactly {target}?",
        f"After {tests - 1} quizzes {name} has marks of {listed}. To finish with a mean of {target} over "
        f"{tests} quizzes, what must {name} get on the last one?",
    )  # fmt: skip
    steps = (
        f"An average of {target} over {tests} tests needs a total of {target} × {tests} = {target * tests}.",
        f"The scores so far add up to {sum(scores)}.",
        f"The last score must be {target * tests} − {sum(scores)} = {needed}.",
    )
    return Problem("word", question, str(needed), steps)


def _factory(rng: random.Random, exam: bool) -> Problem:
    product, rate = rng.choice(PRODUCTS), rng.randrange(20, 400, 10)
    hours, days, defect = rng.randint(4, 12), rng.randint(2, 7), rng.choice((2, 4, 5, 10, 20, 25))
    made = rate * hours * days
    bad = made * defect // 100
    if made * defect % 100:
        return _factory(rng, exam)  # redraw: a fraction of a defective item makes no sense
    question = _say(  # the exam form first
        rng, exam,
        f"Output rate {rate} {product}/h, {hours} h per day over {days} days, reject rate {defect}%. Determine the "
        f"number of acceptable {product}.",
        f"A machine makes {rate} {product} an hour and runs {hours} hours a day for {days} days. If {defect}% of "
        f"them are defective, how many good {product} are produced?",
        f"In {days} days a workshop runs its press for {hours} hours each day, turning out {rate} {product} per "
        f"hour. Inspectors reject {defect}% of the output. How many {product} pass inspection?",
    )  # fmt: skip
    steps = (
        f"Each day: {rate} × {hours} = {rate * hours} {product}.",
        f"Over {days} days: {rate * hours} × {days} = {made}.",
        f"Defective: {defect}% of {made} = {bad}, so {made} − {bad} = {made - bad} are good.",
    )
    return Problem("word", question, str(made - bad), steps)


def _saving(rng: random.Random, exam: bool) -> Problem:
    name, (item, _) = rng.choice(NAMES), rng.choice(GOODS)
    price, saved, weekly = rng.randrange(60, 900, 5), rng.randrange(0, 50, 5), rng.randrange(5, 45, 5)
    weeks = ceil((price - saved) / weekly)
    question = _say(  # the exam form first
        rng, exam,
        f"Goal: a ${price} {item}. Starting funds ${saved}; deposits of ${weekly} weekly. Determine the minimum "
        f"number of weeks until the goal is reached.",
        f"{name} wants to buy a {item} that costs ${price}. {name} already has ${saved} and saves ${weekly} every "
        f"week. After how many weeks will {name} first have enough money?",
        f"Saving ${weekly} a week, and starting with ${saved}, how many whole weeks does it take {name} to afford "
        f"a ${price} {item}?",
    )  # fmt: skip
    steps = (
        f"{name} still needs ${price} − ${saved} = ${price - saved}.",
        f"${price - saved} ÷ ${weekly} ≈ {number(Fraction(price - saved, weekly))} weeks.",
        f"Part of a week is not enough, so round up: {weeks} weeks.",
    )
    return Problem("word", question, str(weeks), steps)


def _recipe(rng: random.Random, exam: bool) -> Problem:
    serves, wanted = rng.choice((2, 4, 6, 8)), rng.randint(3, 30)
    grams, ingredient = rng.randrange(50, 600, 25), rng.choice(INGREDIENTS)
    scaled = Fraction(grams * wanted, serves)
    if (scaled * 100).denominator != 1:
        return _recipe(rng, exam)  # redraw: kitchen scales show at most two decimals
    question = _say(  # the exam form first
        rng, exam,
        f"{grams} g of {ingredient} feeds {serves}; scaling proportionally, compute the grams required to feed "
        f"{wanted}.",
        f"A recipe that serves {serves} people uses {grams} g of {ingredient}. How many grams of {ingredient} are "
        f"needed to serve {wanted} people?",
        f"For {wanted} guests, a cook scales up a recipe written for {serves}, which calls for {grams} grams of "
        f"{ingredient}. How much {ingredient} does the cook need, in grams?",
    )  # fmt: skip
    steps = (
        f"The amount grows in proportion to the number of people: {grams} × {wanted} ÷ {serves}.",
        f"{grams} × {wanted} = {grams * wanted}, and {grams * wanted} ÷ {serves} = {number(scaled)} g.",
    )
    return Problem("word", question, number(scaled), steps)


# ---- chains of arithmetic, equations, fractions -----------------------------------------------------------------

PHRASES = {  # operator -> (exam phrase, *training phrases)
    "+": ("plus {n}", "add {n}", "increase it by {n}", "add {n} to it"),
    "−": ("minus {n}", "subtract {n}", "take away {n}", "reduce it by {n}"),
    "×": ("times {n}", "multiply by {n}", "multiply the result by {n}", "scale it by {n}"),
    "÷": ("divided by {n}", "divide by {n}", "divide the result by {n}", "split it into {n} equal parts and keep one"),
}


STEP_VERBS = {"+": "Adding", "−": "Subtracting", "×": "Multiplying by", "÷": "Dividing by"}


def _operation(rng: random.Random, value: int) -> tuple[str, int, int]:
    """One step of a chain: (operator, operand, result), keeping every intermediate a positive whole number."""
    divisors = [d for d in range(2, 13) if value % d == 0 and value // d > 1]
    operators = ["+", "×"] + (["−"] if value > 3 else []) + (["÷", "÷"] if divisors else [])
    operator = rng.choice(operators)
    if operator == "+":
        operand = rng.randint(2, 99)
        return operator, operand, value + operand
    if operator == "−":
        operand = rng.randint(2, value - 1)
        return operator, operand, value - operand
    if operator == "×":
        operand = rng.randint(2, 9)
        return operator, operand, value * operand
    operand = rng.choice(divisors)
    return operator, operand, value // operand


def _chain(rng: random.Random, exam: bool) -> Problem:
    value = start = rng.randint(5, 99)
    said, steps = [], []
    for _ in range(rng.randint(3, 5)):
        operator, operand, result = _operation(rng, value)
        said.append(_say(rng, exam, *PHRASES[operator]).format(n=operand))
        steps.append(f"{STEP_VERBS[operator]} {operand}: {value} {operator} {operand} = {result}.")
        value = result
    question = _say(  # the exam form first
        rng, exam,
        f"Begin at {start} and apply, in order: {', '.join(said)}. State the final value.",
        f"Start with the number {start}. Then {', then '.join(said)}. What number do you end up with?",
        f"Think of {start}; {'; '.join(said)}. Which number is the final result of these steps?",
        f"Take {start}, {', '.join(said[:-1])}, and finally {said[-1]}. What is the result?",
    )
    return Problem("chain", question, str(value), tuple(steps))


def _linear_equation(rng: random.Random, exam: bool) -> Problem:
    x = rng.randint(-12, 20)
    a, c = rng.sample(range(2, 12), 2)
    b = rng.randint(-30, 30)
    d = a * x + b - c * x
    question = _say(rng, exam, f"Solve for x: {a}x + {b} = {c}x + {d}.", f"Find x if {a}x + {b} = {c}x + {d}.")
    question = question.replace("+ -", "− ")
    steps = (
        f"Subtract {c}x from both sides: {a - c}x + {b} = {d}.".replace("+ -", "− "),
        f"Move the constant: {a - c}x = {d} − ({b}) = {d - b}.",
        f"Divide by {a - c}: x = {d - b} ÷ {a - c} = {x}.",
        f"Check: {a}·{x} + {b} = {a * x + b} and {c}·{x} + {d} = {c * x + d}.".replace("+ -", "− "),
    )
    return Problem("algebra", question, str(x), steps)


def _linear_system(rng: random.Random, exam: bool) -> Problem:
    x, y = rng.randint(1, 30), rng.randint(1, 30)
    what = rng.choice((("adult tickets", "child tickets"), ("large boxes", "small boxes"), ("chairs", "stools")))
    price_x, price_y = rng.randint(6, 25), rng.randint(2, 5)
    question = (
        f"A total of {x + y} items were sold, some {what[0]} at ${price_x} and the rest {what[1]} at ${price_y}. "
        f"The takings were ${price_x * x + price_y * y}. How many {what[0]} were sold?"
    )
    steps = (
        f"Let a be the number of {what[0]} and b the number of {what[1]}: a + b = {x + y} and "
        f"{price_x}a + {price_y}b = {price_x * x + price_y * y}.",
        f"Substitute b = {x + y} − a: {price_x}a + {price_y}({x + y} − a) = {price_x * x + price_y * y}.",
        f"So {price_x - price_y}a + {price_y * (x + y)} = {price_x * x + price_y * y}, "
        f"and {price_x - price_y}a = {(price_x - price_y) * x}.",
        f"a = {x}, and b = {x + y} − {x} = {y}.",
    )
    return Problem("algebra", question, str(x), steps)


def _fraction_sum(rng: random.Random, exam: bool) -> Problem:
    b, d = rng.sample((2, 3, 4, 5, 6, 8, 9, 10, 12), 2)
    a, c = rng.randint(1, b - 1), rng.randint(1, d - 1)
    lcd = b * d // gcd(b, d)
    total = Fraction(a, b) + Fraction(c, d)
    raw = a * (lcd // b) + c * (lcd // d)
    steps = [
        f"The least common denominator of {b} and {d} is {lcd}.",
        f"{a}/{b} = {a * (lcd // b)}/{lcd} and {c}/{d} = {c * (lcd // d)}/{lcd}.",
        f"Adding the numerators: {a * (lcd // b)} + {c * (lcd // d)} = {raw}, so the sum is {raw}/{lcd}.",
    ]
    if Fraction(raw, lcd).denominator != lcd:
        steps.append(f"Dividing top and bottom by {gcd(raw, lcd)} simplifies it to {total}.")
    percent = f"{number(total * 100)}%"
    steps.append(f"As a percentage, {total} = {percent}.")
    return Problem("fraction", f"Add {a}/{b} and {c}/{d}, then write the sum as a percentage.", percent, tuple(steps))


WORD = (_shopping, _travel, _discount_and_tax, _ages, _survey, _fence, _average, _factory, _saving, _recipe)
# Every template takes (rng, exam); the algebra and fraction ones have a single register (no evaluation set uses them).
KINDS: dict[str, tuple[Callable[[random.Random, bool], Problem], ...]] = {
    "word": WORD,
    "chain": (_chain,),
    "algebra": (_linear_equation, _linear_system),
    "fraction": (_fraction_sum,),
}


def _draw(rng: random.Random, kinds: tuple[str, ...], exam: bool) -> Problem:
    return rng.choice(KINDS[rng.choice(kinds)])(rng, exam)


def math_problems(count: int, seed: int = 0, kinds: tuple[str, ...] = ("word", "chain")) -> list[dict]:
    """`count` distinct problems as {question, answer, solution, kind}, phrased as exam items: for evaluation sets
    (training text is `math_texts`)."""
    rng, seen, problems = random.Random(f"synthetic-math/problems/{seed}"), set(), []
    while len(problems) < count:
        problem = _draw(rng, kinds, exam=True)
        if problem.question not in seen:
            seen.add(problem.question)
            problems.append(problem.as_dict())
    return problems


# ---- rendering worked solutions as documents --------------------------------------------------------------------

MIN_CHARS, MAX_CHARS = 300, 1500
INTROS = {
    "word": ("Word problems become easy once they are broken into small steps: find what each sentence tells you, "
             "compute one quantity at a time, and check that the answer fits the question.",
             "In these worked examples we translate everyday situations into arithmetic. Write down every "
             "intermediate result, with its unit, before combining them."),
    "chain": ("Arithmetic in several steps: apply each operation to the previous result, in order, and keep every "
              "intermediate value so that a slip is easy to find.",),
    "algebra": ("A linear equation is solved by doing the same thing to both sides until x stands alone. Always "
                "substitute the solution back in to check it.",
                "Two unknowns need two equations. Express one unknown through the other, substitute, and solve "
                "the single equation that remains."),
    "fraction": ("To add fractions with different denominators, rewrite both over their least common denominator, "
                 "add the numerators, and simplify. A fraction becomes a percentage when multiplied by 100.",),
}  # fmt: skip
# One of each per problem, none twice in a text: a line repeated within a document is what FineWeb's and Gopher's
# repetition rules drop, and these texts are meant to pass them.
HEADINGS = ("Example {i}.", "Problem {i}:", "Exercise {i}:", "Question {i}.")
SOLUTION_LEADS = ("Solution.", "Solution:", "Let's work through it step by step.", "Step by step:")
ANSWER_LINES = ("Answer: {a}", "So the answer is {a}.", "Final answer: {a}", "The result is {a}.")
TEMPLATES = tuple(template for templates in KINDS.values() for template in templates)
PER_TEXT = 4  # at most; a text stops early at random once it has 300 characters


def _worked(rng: random.Random, problem: Problem, heading: str, lead: str, answer: str) -> str:
    steps = "\n".join(problem.steps) if rng.random() < 0.5 else " ".join(problem.steps)
    return f"{heading} {problem.question}\n\n{lead} {steps}\n{answer.format(a=problem.answer)}"


def math_texts(count: int, seed: int = 0) -> list[str]:
    """`count` worked-solution texts of 300-1500 characters, deterministic per seed: a short introduction and one to
    four problems of different templates. A longer list starts with the shorter one (generated in sequence)."""
    rng, texts = random.Random(f"synthetic-math/texts/{seed}"), []
    while len(texts) < count:
        problems = [template(rng, False) for template in rng.sample(TEMPLATES, PER_TEXT)]
        forms = zip(*(rng.sample(forms, PER_TEXT) for forms in (HEADINGS, SOLUTION_LEADS, ANSWER_LINES)), strict=True)
        parts = [rng.choice(INTROS[problems[0].kind])]
        for index, (problem, (heading, lead, answer)) in enumerate(zip(problems, forms, strict=True), start=1):
            worked = _worked(rng, problem, heading.format(i=index), lead, answer)
            if len("\n\n".join([*parts, worked])) > MAX_CHARS:
                break
            parts.append(worked)
            if len("\n\n".join(parts)) >= MIN_CHARS and rng.random() < 0.5:
                break
        text = "\n\n".join(parts)
        if MIN_CHARS <= len(text) <= MAX_CHARS:
            texts.append(text)
    return texts
