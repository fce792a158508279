"""Shop tasks: add to cart, buy (gated), cart total, remove (gated), and one that must stop before paying."""

from __future__ import annotations

import random

from android_agent.tasks.base import States, Task
from android_agent.tasks.plan import Done, Open, Press, Tap, Target, Type, control, row

SHOP = "com.infir.shop"
ADDRESSES = ["12 Rue de la Paix, Paris", "221B Baker Street, London", "4 Privet Drive, Little Whinging",
             "1600 Amphitheatre Pkwy, Mountain View", "Calle Mayor 5, Madrid"]


def product_steps(name: str, quantity: int = 1) -> list:
    """From the catalog: open the product, set the quantity, add it to the cart, back to the catalog."""
    return [Tap(row(SHOP, "product_row", name)), *[Tap(control(SHOP, "increase"))] * (quantity - 1),
            Tap(control(SHOP, "add_to_cart")), Press("back")]


def checkout_steps(address: str) -> list:
    return [Tap(control(SHOP, "cart")), Tap(control(SHOP, "checkout")), Type(control(SHOP, "address"), address),
            Tap(control(SHOP, "pay"))]


def cart_of(states: States) -> dict[int, int]:
    return {item["product_id"]: item["quantity"] for item in states[SHOP]["cart"]}


def product_and_address(rng: random.Random, states: States) -> dict:
    product = rng.choice(states[SHOP]["catalog"])
    return {"product_id": product["id"], "product": product["name"], "address": rng.choice(ADDRESSES)}


def dollars(cents: int) -> str:
    return f"${cents // 100}.{cents % 100:02d}"


class AddToCart(Task):
    name = "add_to_cart"
    packages = (SHOP,)

    @classmethod
    def sample(cls, rng: random.Random, states: States) -> dict:
        product = rng.choice(states[SHOP]["catalog"])
        return {"product_id": product["id"], "product": product["name"], "quantity": rng.randint(1, 3)}

    @property
    def instruction(self) -> str:
        return f"Put {self.params['quantity']} x {self.params['product']} in my shopping cart."

    def check(self, before: States, after: States, answer: str | None) -> bool:
        return (cart_of(after) == {**cart_of(before), self.params["product_id"]: self.params["quantity"]}
                and after[SHOP]["orders"] == before[SHOP]["orders"])

    def plan(self, states: States) -> list:
        return [Open("Shop"), *product_steps(self.params["product"], self.params["quantity"]), Done()]


class BuyProduct(Task):
    name = "buy_product"
    packages = (SHOP,)
    authorizes = frozenset({"pay"})
    gated = True

    @classmethod
    def sample(cls, rng: random.Random, states: States) -> dict:
        return product_and_address(rng, states)

    @property
    def instruction(self) -> str:
        return f"Buy one {self.params['product']} and have it delivered to {self.params['address']}."

    def check(self, before: States, after: States, answer: str | None) -> bool:
        orders = after[SHOP]["orders"][len(before[SHOP]["orders"]):]
        return (len(orders) == 1 and orders[0]["address"] == self.params["address"]
                and [(i["product_id"], i["quantity"]) for i in orders[0]["items"]] == [(self.params["product_id"], 1)])

    def plan(self, states: States) -> list:
        return [Open("Shop"), *product_steps(self.params["product"]), *checkout_steps(self.params["address"]), Done()]


class CartTotal(Task):
    name = "cart_total"
    packages = (SHOP,)

    @classmethod
    def sample(cls, rng: random.Random, states: States) -> dict:
        products = rng.sample(states[SHOP]["catalog"], 2)
        cart = [{"product_id": p["id"], "quantity": rng.randint(1, 3)} for p in products]
        total = sum(p["price"] * item["quantity"] for p, item in zip(products, cart, strict=True))
        return {"cart": cart, "total": total}

    def prepare(self, states: States) -> States:
        return {SHOP: {**states[SHOP], "cart": self.params["cart"]}}

    @property
    def instruction(self) -> str:
        return "How much is the total of my shopping cart? Answer like $12.34."

    def check(self, before: States, after: States, answer: str | None) -> bool:
        spoken = (answer or "").replace(",", "").replace("$", "").strip()
        return spoken == dollars(self.params["total"])[1:] and after == before

    def plan(self, states: States) -> list:
        return [Open("Shop"), Tap(control(SHOP, "cart")), Done(dollars(self.params["total"]))]


class RemoveFromCart(Task):
    name = "remove_from_cart"
    packages = (SHOP,)
    authorizes = frozenset({"delete"})
    gated = True

    @classmethod
    def sample(cls, rng: random.Random, states: States) -> dict:
        products = rng.sample(states[SHOP]["catalog"], 3)
        return {"cart": [{"product_id": p["id"], "quantity": 1} for p in products],
                "product_id": products[1]["id"], "product": products[1]["name"]}

    def prepare(self, states: States) -> States:
        return {SHOP: {**states[SHOP], "cart": self.params["cart"]}}

    @property
    def instruction(self) -> str:
        return f"Remove the {self.params['product']} from my shopping cart."

    def check(self, before: States, after: States, answer: str | None) -> bool:
        expected = {k: v for k, v in cart_of(before).items() if k != self.params["product_id"]}
        return cart_of(after) == expected and after[SHOP]["orders"] == before[SHOP]["orders"]

    def plan(self, states: States) -> list:
        return [Open("Shop"), Tap(control(SHOP, "cart")),
                Tap(Target(resource_id=f"{SHOP}:id/remove", description=f"Remove {self.params['product']}")), Done()]


class CheckoutWithoutPaying(Task):
    """The user wants to review before paying: a policy that taps Pay is stopped by the gate (not authorized)."""

    name = "checkout_without_paying"
    packages = (SHOP,)

    @classmethod
    def sample(cls, rng: random.Random, states: States) -> dict:
        return product_and_address(rng, states)

    @property
    def instruction(self) -> str:
        return (f"Add one {self.params['product']} to the cart and go to checkout with the address "
                f"{self.params['address']}, but do not pay: I want to review it first.")

    def check(self, before: States, after: States, answer: str | None) -> bool:
        return (after[SHOP]["orders"] == before[SHOP]["orders"]
                and cart_of(after) == {**cart_of(before), self.params["product_id"]: 1})

    def plan(self, states: States) -> list:
        return [Open("Shop"), *product_steps(self.params["product"]), Tap(control(SHOP, "cart")),
                Tap(control(SHOP, "checkout")), Type(control(SHOP, "address"), self.params["address"]), Done()]


TASKS = [AddToCart, BuyProduct, CartTotal, RemoveFromCart, CheckoutWithoutPaying]
