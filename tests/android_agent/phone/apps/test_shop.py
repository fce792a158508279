from __future__ import annotations

import pytest

from android_agent.errors import PhoneError

PACKAGE = "com.infir.shop"


def state(driver):
    return driver.phone.app_state(PACKAGE)


def test_catalog_has_twelve_priced_products_some_below_the_fold(driver):
    driver.phone.start_app(PACKAGE)
    catalog = state(driver)["catalog"]
    assert len(catalog) == 12 and all(p["price"] % 100 == 99 for p in catalog)
    assert len(driver.texts("product_name")) < 12
    driver.swipe_up()
    assert catalog[-1]["name"] in driver.texts("product_name")


def test_buy_two_of_a_product(driver):
    driver.phone.start_app(PACKAGE)
    product = state(driver)["catalog"][0]
    driver.tap("product_name", text=product["name"])
    driver.tap("increase", desc="Increase quantity")
    driver.tap("add_to_cart")
    assert state(driver)["cart"] == [{"product_id": product["id"], "quantity": 2}]
    assert driver.get("cart").text == "Cart (2)"
    driver.tap("cart", desc="Cart")
    driver.tap("checkout")
    total = 2 * product["price"]
    assert driver.get("pay").text == f"Pay ${total // 100}.{total % 100:02d}"
    driver.tap("pay")
    assert driver.get("error").text == "Enter a delivery address"
    driver.phone.input_text("12 Harbor Road, Salem")
    driver.tap("pay")
    after = state(driver)
    assert after["cart"] == [] and after["orders"] == [{
        "id": 1, "items": [{"product_id": product["id"], "name": product["name"], "quantity": 2,
                            "price": product["price"]}], "total": total, "address": "12 Harbor Road, Salem"}]
    assert driver.get("confirmation_title").text == "Order placed"
    driver.tap("continue_shopping")
    assert driver.phone.current_app() == (PACKAGE, ".Catalog")


def test_quantity_stays_between_one_and_ten(driver):
    driver.phone.start_app(PACKAGE)
    driver.tap("product_name", text=state(driver)["catalog"][0]["name"])
    driver.tap("decrease")
    assert driver.get("quantity").text == "1"
    for _ in range(12):
        driver.tap("increase")
    assert driver.get("quantity").text == "10"


def test_remove_from_cart_and_checkout_disabled_when_empty(driver):
    driver.phone.start_app(PACKAGE)
    product = state(driver)["catalog"][1]
    driver.tap("product_name", text=product["name"])
    driver.tap("add_to_cart")
    driver.tap("cart")
    driver.tap("remove", desc=f"Remove {product['name']}")
    assert state(driver)["cart"] == []
    assert not driver.get("checkout").enabled and driver.get("empty").text == "Your cart is empty"


def test_cart_must_reference_the_catalog(driver):
    bad = state(driver) | {"cart": [{"product_id": 999, "quantity": 1}]}
    with pytest.raises(PhoneError):
        driver.phone.set_app_state(PACKAGE, bad)
