from __future__ import annotations

import base64
import http.client
import io
import json
import socket
import threading

import pytest
from lxml import etree
from PIL import Image

from android_agent.phone.phone import Phone
from android_agent.phone.uiautomator_rpc import UiautomatorRpc

SETTINGS = "com.infir.settings"
WIFI_SWITCH = {"mask": 0x200000, "resourceId": "com.infir.settings:id/wifi_switch"}


@pytest.fixture
def rpc() -> UiautomatorRpc:
    rpc = UiautomatorRpc(Phone())
    rpc.phone.start_app(SETTINGS)
    return rpc


def reply_to(rpc: UiautomatorRpc, method: str, *params) -> dict:
    reply = rpc.handle(json.dumps({"jsonrpc": "2.0", "id": 7, "method": method, "params": list(params)}).encode())
    assert reply["id"] == 7
    return reply


def call(rpc: UiautomatorRpc, method: str, *params):
    reply = reply_to(rpc, method, *params)
    assert "error" not in reply, reply["error"]
    return reply["result"]


def error_of(rpc: UiautomatorRpc, method: str, *params) -> dict:
    return reply_to(rpc, method, *params)["error"]


def selector(**fields) -> dict:
    bits = {"text": 0x01, "textContains": 0x02, "textMatches": 0x04, "className": 0x10, "description": 0x40,
            "checked": 0x0800, "clickable": 0x1000, "focused": 0x020000, "resourceId": 0x200000, "index": 0x800000,
            "instance": 0x01000000}
    mask = sum(bits[name] for name in fields)
    return {"mask": mask, "childOrSibling": [], "childOrSiblingSelector": [], **fields}


def test_unknown_method_and_bad_json_are_jsonrpc_errors(rpc):
    assert error_of(rpc, "noSuchMethod")["code"] == -32601
    assert rpc.handle(b"{oops")["error"]["code"] == -32700
    assert error_of(rpc, "click")["code"] == -32602


def test_device_info(rpc):
    info = call(rpc, "deviceInfo")
    assert (info["displayWidth"], info["displayHeight"], info["sdkInt"]) == (1080, 2400, 34)
    assert info["currentPackageName"] == SETTINGS and info["screenOn"]


def test_hierarchy_is_the_phone_dump(rpc):
    xml = call(rpc, "dumpWindowHierarchy", False, 50)
    assert xml == rpc.phone.hierarchy_xml()
    assert all(node.get("bounds") for node in etree.fromstring(xml.encode()).iter("node"))


def test_compressed_hierarchy_drops_layout_only_containers(rpc):
    full = etree.fromstring(call(rpc, "dumpWindowHierarchy", False, 50).encode())
    compressed = etree.fromstring(call(rpc, "dumpWindowHierarchy", True, 50).encode())
    assert len(list(compressed.iter("node"))) < len(list(full.iter("node")))
    texts = {n.get("text") for n in full.iter("node") if n.get("text")}
    assert texts == {n.get("text") for n in compressed.iter("node") if n.get("text")}


def test_max_depth_cuts_deeper_nodes(rpc):
    shallow = etree.fromstring(call(rpc, "dumpWindowHierarchy", False, 2).encode())
    assert max(len(list(n.iterancestors("node"))) for n in shallow.iter("node")) == 1


def test_hierarchy_refused_while_animating():
    rpc = UiautomatorRpc(Phone(animation_s=30))
    rpc.phone.start_app(SETTINGS)
    assert "could not get idle state" in error_of(rpc, "dumpWindowHierarchy", False, 50)["message"]
    assert call(rpc, "waitForIdle", 50) is False


def test_screenshot_is_a_jpeg_of_the_screen_and_scales(rpc):
    image = Image.open(io.BytesIO(base64.b64decode(call(rpc, "takeScreenshot", 1, 80))))
    assert (image.format, image.size) == ("JPEG", (1080, 2400))
    half = Image.open(io.BytesIO(base64.b64decode(call(rpc, "takeScreenshot", 0.5, 50))))
    assert half.size == (540, 1200)


def test_selector_queries(rpc):
    assert call(rpc, "exist", selector(text="Wi-Fi"))
    assert not call(rpc, "exist", selector(text="Wi"))
    assert call(rpc, "exist", selector(textContains="Wi"))
    assert call(rpc, "exist", selector(textMatches="Wi-.."))
    titles = call(rpc, "count", selector(resourceId="com.infir.settings:id/setting_title"))
    assert titles == 6
    second = call(rpc, "objInfo", selector(resourceId="com.infir.settings:id/setting_title", instance=1))
    assert second["text"] == "Bluetooth"
    assert len(call(rpc, "objInfoOfAllInstances", selector(className="android.widget.Switch"))) == 5


def test_child_and_sibling_selectors(rpc):
    row = selector(resourceId="com.infir.settings:id/setting_row", instance=0)
    switch = selector(className="android.widget.Switch")
    child = {**row, "childOrSibling": ["child"], "childOrSiblingSelector": [switch]}
    assert call(rpc, "objInfo", child)["contentDescription"] == "Wi-Fi"
    title = selector(text="Wi-Fi")
    sibling = {**title, "childOrSibling": ["sibling"], "childOrSiblingSelector": [selector(text="On")]}
    assert call(rpc, "count", sibling) == 1


def test_obj_info_shape(rpc):
    info = call(rpc, "objInfo", WIFI_SWITCH)
    assert info["className"] == "android.widget.Switch" and info["checkable"]
    assert set(info["bounds"]) == {"left", "top", "right", "bottom"} == set(info["visibleBounds"])


def test_missing_view_is_ui_object_not_found(rpc):
    error = error_of(rpc, "objInfo", selector(text="Nope"))
    assert error["code"] == -32002
    assert "uiautomator.UiObjectNotFoundException: UiSelector[TEXT=Nope]" in error["message"]


def test_click_on_coordinates_and_on_a_selector_toggle(rpc):
    before = rpc.phone.app_state(SETTINGS)["wifi"]
    bounds = call(rpc, "objInfo", WIFI_SWITCH)["bounds"]
    call(rpc, "click", (bounds["left"] + bounds["right"]) // 2, (bounds["top"] + bounds["bottom"]) // 2)
    assert rpc.phone.app_state(SETTINGS)["wifi"] is not before
    call(rpc, "click", WIFI_SWITCH)
    assert rpc.phone.app_state(SETTINGS)["wifi"] is before


def test_click_with_a_long_duration_is_a_long_press(rpc, monkeypatch):
    pressed = []
    monkeypatch.setattr(rpc.phone, "long_press", lambda x, y: pressed.append((x, y)))
    call(rpc, "click", 10, 20, 500)
    call(rpc, "click", 10, 20, 100)
    assert pressed == [(10, 20)]


def test_swipe_reaches_the_phone(rpc, monkeypatch):
    swipes = []
    monkeypatch.setattr(rpc.phone, "swipe", lambda *points: swipes.append(points))
    call(rpc, "swipe", 500, 1800, 500, 600, 20)
    call(rpc, "swipePoints", [1, 2, 3, 4, 5, 6], 10)
    assert swipes == [(500, 1800, 500, 600), (1, 2, 5, 6)]


def test_touch_down_up_in_place_is_a_tap(rpc, monkeypatch):
    taps = []
    monkeypatch.setattr(rpc.phone, "tap", lambda x, y: taps.append((x, y)))
    call(rpc, "injectInputEvent", 0, 100, 200, 0)
    call(rpc, "injectInputEvent", 1, 102, 201, 0)
    assert taps == [(100, 200)]


def test_keys(rpc):
    call(rpc, "pressKey", "home")
    assert rpc.phone.current_app()[0] == "com.infir.launcher"
    call(rpc, "pressKeyCode", 4)  # back on the home screen stays there
    assert rpc.phone.current_app()[0] == "com.infir.launcher"
    assert error_of(rpc, "pressKey", "no_such_key")["code"] == -32001


def open_device_name(rpc: UiautomatorRpc) -> dict:
    call(rpc, "click", selector(text="About phone"))
    field = selector(resourceId="com.infir.settings:id/device_name")
    call(rpc, "clearTextField", field)
    return field


def test_set_text_and_clipboard_paste(rpc):
    field = open_device_name(rpc)
    assert call(rpc, "setText", field, "Pixel")
    call(rpc, "setClipboard", None, " 你好")
    assert call(rpc, "getClipboard") == " 你好"
    call(rpc, "pasteClipboard")
    assert call(rpc, "getText", field) == "Pixel 你好"
    call(rpc, "clearInputText")
    assert call(rpc, "getText", selector(focused=True)) == ""


def test_set_text_on_a_non_editable_view_is_refused(rpc):
    assert call(rpc, "setText", selector(text="Wi-Fi"), "x") is False


def test_wait_for_exists_and_gone(rpc):
    assert call(rpc, "waitForExists", selector(text="Wi-Fi"), 100)
    assert not call(rpc, "waitForExists", selector(text="Nope"), 100)
    assert call(rpc, "waitUntilGone", selector(text="Nope"), 100)


def test_http_ping_and_jsonrpc_over_a_stream(rpc):
    server_end, client_end = socket.socketpair()
    threading.Thread(target=rpc.serve_connection, args=(server_end,), daemon=True).start()
    connection = http.client.HTTPConnection("phone")
    connection.sock = client_end
    connection.request("GET", "/ping")
    assert connection.getresponse().read() == b"pong"
    connection.request("POST", "/jsonrpc/0", json.dumps({"jsonrpc": "2.0", "id": 1, "method": "getClipboard"}))
    response = connection.getresponse()
    assert (response.status, json.loads(response.read())["result"]) == (200, "")
    connection.request("GET", "/nothing")
    response = connection.getresponse()
    assert response.status == 404
    response.read()
    connection.close()


def visible_texts(rpc: UiautomatorRpc) -> set[str]:
    return {view.text for view in rpc.phone.root().walk() if view.text}


def test_scrolling_a_list_to_its_end_and_back_to_a_target():
    rpc = UiautomatorRpc(Phone())
    rpc.phone.start_app("com.infir.contacts")
    contacts = selector(resourceId="com.infir.contacts:id/list")
    first_page = visible_texts(rpc)
    assert call(rpc, "scrollForward", contacts, True, 55)
    assert call(rpc, "scrollToEnd", contacts, True, 50, 55)
    assert not call(rpc, "scrollForward", contacts, True, 55)
    target = sorted(visible_texts(rpc) - first_page)[0]
    assert call(rpc, "scrollToBeginning", contacts, True, 50, 55)
    assert not call(rpc, "exist", selector(text=target))
    assert call(rpc, "scrollTo", contacts, selector(text=target), True)
    assert call(rpc, "exist", selector(text=target))
