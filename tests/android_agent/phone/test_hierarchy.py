from __future__ import annotations

import re

from lxml import etree

from android_agent.phone import Phone
from android_agent.phone.hierarchy import hierarchy_xml
from android_agent.phone.ui import EDIT_TEXT, FRAME, View

ATTRIBUTES = ["index", "text", "resource-id", "class", "package", "content-desc", "checkable", "checked",
              "clickable", "enabled", "focusable", "focused", "scrollable", "long-clickable", "password", "selected",
              "visible-to-user", "bounds"]


def parse(xml: str):
    return etree.fromstring(xml.encode("utf-8"))


def test_declaration_root_and_attribute_order():
    xml = Phone().hierarchy_xml()
    assert xml.startswith("<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>\n<hierarchy rotation=\"0\">")
    first = parse(xml)[0]
    assert first.tag == "node" and list(first.attrib) == ATTRIBUTES
    assert first.get("bounds") == "[0,0][1080,2400]"


def test_every_node_matches_its_view_in_order_on_every_app():
    phone = Phone()
    for package in phone.packages():
        phone.start_app(package)
        nodes = parse(phone.hierarchy_xml()).iter("node")
        for view, node in zip(phone.root().walk(), nodes, strict=True):
            x1, y1, x2, y2 = map(int, re.findall(r"\d+", node.get("bounds")))
            assert (x1, y1, x2, y2) == view.bounds
            assert node.get("text") == view.text and node.get("resource-id") == view.resource_id
            assert node.get("clickable") == ("true" if view.clickable else "false")


def test_special_characters_are_escaped_and_round_trip():
    text = 'a < b & "c" > d\nnew line\ttab'
    root = View(FRAME, (0, 0, 10, 10), children=[View("android.widget.TextView", (0, 0, 5, 5), text=text)])
    assert parse(hierarchy_xml(root))[0][0].get("text") == text


def test_characters_xml_cannot_carry_are_replaced():
    root = View("android.widget.TextView", (0, 0, 5, 5), text="bell\x07 and emoji 😀")
    assert parse(hierarchy_xml(root))[0].get("text") == "bell\ufffd and emoji 😀"


def test_password_text_is_masked():
    root = View(EDIT_TEXT, (0, 0, 5, 5), text="hunter2", password=True)
    node = parse(hierarchy_xml(root))[0]
    assert node.get("text") == "\u2022" * 7 and node.get("password") == "true"


def test_leaves_are_self_closed_and_children_indexed():
    xml = Phone().hierarchy_xml()
    assert re.search(r'<node index="1" text="Contacts" resource-id="com.infir.launcher:id/app_icon"', xml)
    assert re.search(r'bounds="\[\d+,\d+\]\[\d+,\d+\]" />', xml)
