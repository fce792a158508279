"""Test-only families: situations no training problem is set in (a beach, an aquarium, a bus route, a hike), so a
held-out set can tell generalization to new situations from generalization to new wording."""

from __future__ import annotations

from .phrasing import family

SHELLS = family(
    "beach_shells", "test",
    items=(("shell", "shells"), ("pebble", "pebbles"), ("piece of sea glass", "pieces of sea glass")),
    containers=("buckets", "handfuls", "pails"),
    text={
        "opening": ["{name} collected {start} on the beach.", "{name}'s sand bucket holds {start}."],
        "gain": ["{subj} spotted {qty} near the tide pools", "a wave washed up {qty} at {name}'s feet"],
        "lose": ["{subj} tossed {qty} back into the sea", "{subj} gave {qty} to a younger child on the beach"],
        "question": ["By the time {name} leaves the beach, how many {items} are in the bucket?",
                     "What is the number of {items} {name} carries home?"],
        "detail": ["Seagulls circle above the shore.", "The tide is going out slowly."],
        "distractor": ["The beach is {d} minutes from {name}'s hotel.", "A lifeguard tower stands {s} meters tall."],
    },
)  # fmt: skip

AQUARIUM = family(
    "aquarium_fish", "test",
    items=(("guppy", "guppies"), ("goldfish", "goldfish"), ("tetra", "tetras"), ("snail", "snails")),
    containers=("bags", "jars"), kinds=("gain", "lose", "gain_groups", "lose_groups", "multiply"),
    text={
        "opening": ["{name}'s aquarium is home to {start}.", "{name} keeps {start} in a big glass tank."],
        "gain": ["{subj} brought home {qty} from the pet store", "{qty} hatched in {name}'s tank"],
        "lose": ["{subj} moved {qty} to a second tank", "{subj} gave {qty} to a friend who has a pond"],
        "multiply": ["after a breeding season, {name}'s tank held {times} as many {items} as before"],
        "question": ["How many {items} swim in {name}'s aquarium at the end?",
                     "Tally up: how many {items} does {name} keep now?"],
        "detail": ["The tank glows with a soft blue light.", "{name} feeds the fish every morning before school."],
        "distractor": ["The tank's filter was replaced {s} weeks ago.", "The pet store is {d} minutes away by bike."],
    },
)  # fmt: skip

BUS = family(
    "bus_passengers", "test",
    items=(("passenger", "passengers"), ("rider", "riders")), containers=("groups", "families"),
    kinds=("gain", "lose", "gain_groups", "lose_groups"), owned=False, group_start=False, start_range=(5, 60),
    lost="got off",
    text={
        "opening": ["The bus {name} drives leaves the depot with {start} on board.",
                    "{name}'s tram carries {start} at the first stop."],
        "gain": ["{qty} climbed aboard at the next stop", "{qty} got on near the market"],
        "lose": ["{qty} stepped off at the library", "{qty} got off by the station"],
        "question": ["How many {items} are riding when {name} reaches the last stop?",
                     "At the end of the route, what is the number of {items} on board?"],
        "detail": ["It is rush hour in the city.", "The route runs along the river."],
        "distractor": ["{name} has driven this route for {s} years.", "A ticket costs ${s}."],
    },
)  # fmt: skip

HIKE = family(
    "hiking_distance", "test",
    items=(("mile", "miles"), ("kilometer", "kilometers")), periods=(("day", "days"), ("hour", "hours")),
    kinds=("gain", "lose", "lose_groups"), owned=False, group_start=False, start_range=(40, 200), lost="hiked",
    text={
        "opening": ["The trail {name} is hiking is {start} long.",
                    "{name} still has {start} to go to reach the mountain hut."],
        "gain": ["a fallen tree forced a detour that added {qty} to {name}'s route",
                 "a closed bridge added {qty} to the way"],
        "lose": ["{subj} hiked {qty}", "{subj} covered {qty} along the ridge"],
        "question": ["How far does {name} still have to hike, in {items}?",
                     "What distance remains between {name} and the hut, in {items}?"],
        "detail": ["The mountain air is cool and fresh.", "{name} carries a heavy backpack."],
        "distractor": ["{name}'s backpack weighs {s} kilograms.", "The hut at the end sleeps {d} hikers."],
    },
)  # fmt: skip

FAMILIES = (SHELLS, AQUARIUM, BUS, HIKE)
