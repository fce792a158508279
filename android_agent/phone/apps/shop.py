"""Shop (`com.infir.shop`): a catalog, a cart and checkout. Ids below are `com.infir.shop:id/<id>`.

Every screen's app bar has a text button `id/cart` (desc "Cart", text "Cart (N)" with N items in the cart).

Screen `.Catalog` (title "Shop"): list `id/list` of 12 products (about 11 fit; swipe up for the rest); rows
`id/product_row` with `id/product_name` and `id/product_price` ("$12.99").

Screen `.Product` (title: the product): `id/product_price`, `id/description`, ImageButton `id/decrease` (desc
"Decrease quantity"), TextView `id/quantity` ("1" to "10"), ImageButton `id/increase` (desc "Increase quantity"),
Button `id/add_to_cart` "Add to cart": adds the quantity (merged with the same product already in the cart) and
shows "Added N to cart" (`id/message`), staying on the page.

Screen `.Cart` (title "Cart"): rows `id/cart_row` with `id/cart_item_name`, `id/cart_item_detail` ("Qty 2 ·
$25.98") and a Button `id/remove` (text "Remove", desc "Remove <product>"); at the bottom `id/total` ("Total:
$xx.xx") and Button `id/checkout` "Checkout" (disabled while the cart is empty; empty text "Your cart is empty").

Screen `.Checkout` (title "Checkout"): `id/summary` ("N items"), EditText `id/address` (desc "Address", focused on
open), Button `id/pay` "Pay $xx.xx". Error (`id/error`): "Enter a delivery address". Paying records the order,
empties the cart and replaces this screen with `.OrderConfirmation`: `id/confirmation_title` "Order placed",
`id/order_summary` ("Order #3 · $25.98"), `id/delivery` ("Delivering to <address>"), Button
`id/continue_shopping` "Continue shopping" (back to `.Catalog`).

Flows:
- buy 2 of a product: tap its `id/product_name` (swipe up first if needed) -> tap `id/increase` once -> tap
  `id/add_to_cart` -> tap `id/cart` -> tap `id/checkout` -> type the address -> tap `id/pay`.
- remove from the cart: tap `id/cart` -> tap the `id/remove` with desc "Remove <product>".
State: `{"catalog": [{"id": int, "name": str, "price": int (cents), "description": str}], "cart":
[{"product_id": int, "quantity": int}], "orders": [{"id": int, "items": [{"product_id", "name", "quantity",
"price"}], "total": int (cents), "address": str}]}`.
"""

from __future__ import annotations

import random
from typing import Any

from android_agent.phone.apps.base import App, Page, Screen, require, require_list
from android_agent.phone.apps.words import PRODUCTS
from android_agent.phone.ui import BUTTON_H, View, button, icon_button, list_item, row, stack, text_view

PRODUCT_FIELDS = {"id": int, "name": str, "price": int, "description": str}
CART_FIELDS = {"product_id": int, "quantity": int}
ORDER_FIELDS = {"id": int, "items": list, "total": int, "address": str}
ITEM_FIELDS = {"product_id": int, "name": str, "quantity": int, "price": int}
MAX_QUANTITY = 10


def money(cents: int) -> str:
    return f"${cents // 100:,}.{cents % 100:02d}"


class Shop(App):
    package = "com.infir.shop"
    label = "Shop"
    tint = (216, 67, 21)

    def initial_state(self, rng: random.Random) -> dict[str, Any]:
        catalog = []
        for index, (name, description, low, high) in enumerate(rng.sample(PRODUCTS, 12), start=1):
            catalog.append({"id": index, "name": name, "price": rng.randrange(low // 100, high // 100 + 1) * 100 - 1,
                            "description": description})
        return {"catalog": catalog, "cart": [], "orders": []}

    def validate(self, state: Any) -> dict[str, Any]:
        catalog = require_list(state, "catalog", PRODUCT_FIELDS)
        require(all(product["price"] >= 0 for product in catalog), "prices are cents >= 0")
        known = {product["id"] for product in catalog}
        cart = require_list(state, "cart", CART_FIELDS)
        require(all(item["product_id"] in known and item["quantity"] >= 1 for item in cart),
                "cart items need a catalog product_id and a quantity >= 1")
        orders = require_list(state, "orders", ORDER_FIELDS)
        for order in orders:
            order["items"] = require_list(order, "items", ITEM_FIELDS)
        return {"catalog": catalog, "cart": cart, "orders": orders}

    def main_screen(self) -> Screen:
        return Screen(".Catalog", self._catalog)

    def product(self, product_id: int) -> dict[str, Any]:
        return next(product for product in self.state["catalog"] if product["id"] == product_id)

    def cart_total(self) -> int:
        return sum(self.product(item["product_id"])["price"] * item["quantity"] for item in self.state["cart"])

    def _cart_button(self) -> View:
        count = sum(item["quantity"] for item in self.state["cart"])
        cart = button(f"Cart ({count})", "cart", self._open_cart, style="text_button")
        cart.description = "Cart"
        return cart

    # -- catalog and product -----------------------------------------------------------------------------------------
    def _catalog(self, screen: Screen) -> Page:
        rows = [list_item(self.width, rid="product_row", title=product["name"], title_rid="product_name",
                          subtitle=money(product["price"]), subtitle_rid="product_price",
                          on_click=self._opener(product["id"]))
                for product in self.state["catalog"]]
        return Page(title="Shop", rows=rows, empty="No products", actions=[self._cart_button()])

    def _opener(self, product_id: int):
        return lambda: self.open(Screen(".Product", self._product, params={"id": product_id, "quantity": 1}))

    def _product(self, screen: Screen) -> Page:
        product = self.product(screen.params["id"])
        quantity = screen.params["quantity"]

        def change(by: int):
            def apply() -> None:
                screen.params["quantity"] = max(1, min(MAX_QUANTITY, quantity + by))
                screen.params.pop("added", None)

            return apply

        def add() -> None:
            line = next((item for item in self.state["cart"] if item["product_id"] == product["id"]), None)
            if line is None:
                self.state["cart"].append({"product_id": product["id"], "quantity": quantity})
            else:
                line["quantity"] += quantity
            screen.params["added"] = quantity

        count = text_view(str(quantity), 160, style="title", rid="quantity")
        picker = row([icon_button("−", "Decrease quantity", "decrease", change(-1)), count,
                      icon_button("+", "Increase quantity", "increase", change(+1))], self.inner, BUTTON_H, pad=0)
        body = [text_view(money(product["price"]), self.inner, style="display", rid="product_price"),
                text_view(product["description"], self.inner, rid="description", lines=0), picker,
                button("Add to cart", "add_to_cart", add, width=self.inner)]
        if "added" in screen.params:
            body.append(text_view(f"Added {screen.params['added']} to cart", self.inner, style="secondary",
                                  rid="message"))
        return Page(title=product["name"], body=body, actions=[self._cart_button()])

    # -- cart, checkout, confirmation --------------------------------------------------------------------------------
    def _open_cart(self) -> None:
        if self.stack[-1].activity != ".Cart":
            self.open(Screen(".Cart", self._cart))

    def _cart(self, screen: Screen) -> Page:
        rows = []
        for item in self.state["cart"]:
            product = self.product(item["product_id"])
            remove = button("Remove", "remove", self._remover(product["id"]), style="text_button")
            remove.description = f"Remove {product['name']}"
            rows.append(list_item(self.width, rid="cart_row", title=product["name"], title_rid="cart_item_name",
                                  subtitle=f"Qty {item['quantity']} · {money(product['price'] * item['quantity'])}",
                                  subtitle_rid="cart_item_detail", trailing=remove))
        footer = stack([text_view(f"Total: {money(self.cart_total())}", self.inner, style="title", rid="total"),
                        button("Checkout", "checkout", self._checkout, width=self.inner,
                               enabled=bool(self.state["cart"]))], self.width, gap=16, pad=48)
        return Page(title="Cart", rows=rows, empty="Your cart is empty", footer=[footer])

    def _remover(self, product_id: int):
        def remove() -> None:
            self.state["cart"] = [item for item in self.state["cart"] if item["product_id"] != product_id]

        return remove

    def _checkout(self) -> None:
        self.open(Screen(".Checkout", self._checkout_page, focus="address"))

    def _checkout_page(self, screen: Screen) -> Page:
        count = sum(item["quantity"] for item in self.state["cart"])
        return Page(title="Checkout", body=[
            text_view(f"{count} item{'s' if count != 1 else ''}", self.inner, rid="summary"),
            self.field(screen, "address", "Address", on_enter=lambda: self._pay(screen)),
            button(f"Pay {money(self.cart_total())}", "pay", lambda: self._pay(screen), width=self.inner,
                   enabled=bool(self.state["cart"]))])

    def _pay(self, screen: Screen) -> None:
        address = screen.fields.get("address", "").strip()
        if not address:
            return self.fail(screen, "Enter a delivery address")
        if not self.state["cart"]:
            return self.fail(screen, "Your cart is empty")
        items = [{"product_id": item["product_id"], "name": self.product(item["product_id"])["name"],
                  "quantity": item["quantity"], "price": self.product(item["product_id"])["price"]}
                 for item in self.state["cart"]]
        order = {"id": self.next_id(self.state["orders"]), "items": items, "total": self.cart_total(),
                 "address": address}
        self.state["orders"].append(order)
        self.state["cart"] = []
        self.replace_top(Screen(".OrderConfirmation", self._confirmation, params={"order": order["id"]}))

    def _confirmation(self, screen: Screen) -> Page:
        order = next(order for order in self.state["orders"] if order["id"] == screen.params["order"])
        return Page(title="Order placed", body=[
            text_view("Order placed", self.inner, style="display", rid="confirmation_title"),
            text_view(f"Order #{order['id']} · {money(order['total'])}", self.inner, style="title",
                      rid="order_summary"),
            text_view(f"Delivering to {order['address']}", self.inner, rid="delivery", lines=0),
            button("Continue shopping", "continue_shopping", self.start, width=self.inner)])
